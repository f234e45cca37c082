//! Speed and accuracy of ante-mortem / post-mortem matching at archive scale.
//!
//!     cargo run --release -p athar-catalog --example match_speed -- [CASES] [QUERIES]
//!
//! Builds a real vault and SQLCipher catalogue holding CASES synthetic cases (default 50,000,
//! with numbers, dates, branches and observations: `matching::eval::synthetic`), then:
//! - reads the compact case table once (what the first `rank` after a log change pays);
//! - ranks QUERIES records (default 1000) through `matching::rank`, timing each call;
//! - prints the accuracy by kind of record, as the evaluation test does.

use std::time::{Duration, Instant};

use athar_catalog::matching::eval::{self, RecordKind};
use athar_catalog::matching::{self, CaseTable, Matcher};
use athar_catalog::{Catalog, SqlCatalog};
use athar_vault::{InitOptions, SecretString, Vault};

/// CPU time of this thread: on a shared machine, wall time measures the neighbours too.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(50_000);
    let queries = args.get(1).copied().unwrap_or(1000);

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("vault");
    let opts = InitOptions {
        scrypt_log_n: 10,
        ..InitOptions::default()
    };
    let mut vault =
        Vault::init(&root, &SecretString::from("bench".to_string()), &opts).expect("vault");
    let mut cat =
        SqlCatalog::open_sqlite(&root.join("catalog.db"), &vault.catalog_key()).expect("catalogue");

    let started = Instant::now();
    let syn = eval::synthetic(n, 2026);
    let events = syn.drafts.len();
    for chunk in syn.drafts.chunks(10_000) {
        let signed = vault.append(chunk.to_vec()).expect("append");
        cat.apply(&signed).expect("apply");
    }
    println!(
        "built {n} cases ({events} events) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (mut loads, mut load_cpu) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (t, c) = (Instant::now(), cpu_time());
        let table = CaseTable::load(&cat).expect("load");
        loads.push(t.elapsed());
        load_cpu.push(cpu_time() - c);
        assert_eq!(table.cases.len(), n);
    }
    println!(
        "case table load (once after each log change): median {:.1} ms wall, {:.1} ms CPU",
        median(&mut loads).as_secs_f64() * 1e3,
        median(&mut load_cpu).as_secs_f64() * 1e3
    );

    // Warm the cache, then time whole `rank` calls as the portal and CLI make them.
    matching::rank(&cat, &syn.records[0].0, 10).expect("rank");
    let mut times = Vec::with_capacity(queries);
    let mut cpu = Vec::with_capacity(queries);
    for i in 0..queries {
        let r = &syn.records[i % syn.records.len()].0;
        let (t, c) = (Instant::now(), cpu_time());
        let ranked = matching::rank(&cat, r, 10).expect("rank");
        times.push(t.elapsed());
        cpu.push(cpu_time() - c);
        std::hint::black_box(ranked);
    }
    times.sort();
    cpu.sort();
    let p = |v: &[Duration], q: f64| {
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3
    };
    println!(
        "rank, one record against {n} cases ({queries} records): wall median {:.2} ms, p99 {:.2} ms; CPU median {:.2} ms, p99 {:.2} ms",
        p(&times, 0.5),
        p(&times, 0.99),
        p(&cpu, 0.5),
        p(&cpu, 0.99)
    );
    println!("log position {}", cat.last_seq().expect("seq"));

    let table = CaseTable::load(&cat).expect("load");
    let scores = eval::evaluate(&Matcher::standard(), &table, &syn);
    println!(
        "{:<28} {:>7} {:>7} {:>7}",
        "record", "count", "top 1", "top 10"
    );
    for (kind, s) in &scores {
        if *kind == RecordKind::NotInArchive {
            continue;
        }
        println!(
            "{:<28} {:>7} {:>6.1}% {:>6.1}%",
            kind.as_str(),
            s.records,
            100.0 * s.share_top1(),
            100.0 * s.share_top10()
        );
    }
    if std::env::var_os("MATCH_DEBUG").is_some() {
        debug_misses(&table, &syn);
    }
}

/// Print the first few right records whose case is not in the top 10, with both reasons.
fn debug_misses(table: &CaseTable, syn: &eval::Synthetic) {
    let m = Matcher::standard();
    let mut shown = 0;
    for ((r, truth), kind) in syn.records.iter().zip(&syn.kinds) {
        if !kind.facts_right() || shown >= 8 {
            continue;
        }
        let truth = truth.as_deref().expect("right records have a case");
        let ranked = m.rank_table(table, r, 10);
        if ranked.iter().any(|c| c.case_id == truth) {
            continue;
        }
        shown += 1;
        let q = matching::Query::new(r, table);
        let c = table.find(truth).expect("case");
        println!(
            "\nrecord marks {:?} arrest {:?} age {:?}",
            r.marks, r.arrest_date, r.age_at_arrest
        );
        println!(
            "  truth {} score {:.2}: {:?}",
            truth,
            m.candidate(&q, c, table).score,
            m.candidate(&q, c, table)
                .reasons
                .iter()
                .map(|x| (x.detail.code.clone(), x.weight))
                .collect::<Vec<_>>()
        );
        println!(
            "  case marks {:?}, age {:?}-{:?}",
            table
                .marks(c)
                .iter()
                .map(|m| table.mark_text(m))
                .collect::<Vec<_>>(),
            c.age_min,
            c.age_max
        );
        let top = &ranked[0];
        let tc = table.find(&top.case_id).expect("case");
        println!(
            "  top {} score {:.2}: {:?}",
            top.case_id,
            top.score,
            top.reasons
                .iter()
                .map(|x| (x.detail.code.clone(), x.weight))
                .collect::<Vec<_>>()
        );
        println!(
            "  top marks {:?}",
            table
                .marks(tc)
                .iter()
                .map(|m| table.mark_text(m))
                .collect::<Vec<_>>()
        );
        println!("  10th score {:.2}", ranked.last().map_or(0.0, |c| c.score));
    }
}
