//! Load benchmark: the portal's search and candidate pages on a catalogue of synthetic cases.
//!
//!     cargo run --release -p athar-portal --example load -- [CASES] [SECONDS] [--pg]
//!
//! Builds a vault with CASES cases (default 50,000: `matching::eval::synthetic`), signs a
//! family in with records of its own, serves on 127.0.0.1 with two worker threads, then
//! 1. `wrk --latency` (closed loop: as fast as it goes) on search pages, then on candidate
//!    pages, reporting throughput and latency percentiles;
//! 2. a fixed rate of 200 requests/s (open loop, half search, half candidates) from our own
//!    client, latency measured from each request's scheduled time so that a stall is not
//!    hidden by waiting for it (no coordinated omission): p50, p99, max.
//!
//! Beyond 50,000 cases (say 1,000,000) the first 50,000 come from signed events as above and
//! the rest are copies of their rows written straight into the catalogue's `cases` and
//! `case_observations` tables (ids suffixed, numbers prefixed with the copy's number), in the
//! database itself (`INSERT … SELECT`), so a million-case catalogue takes a minute, not hours.
//!
//! With `--pg` (PostgreSQL at `ATHAR_TEST_PG`, as `source target/services/env` sets it) the
//! vault is made with its catalogue in a fresh PostgreSQL database (`athar init --catalog`),
//! so the portal reads its catalogue and its own tables (sessions, audit …, read on every
//! request) from PostgreSQL; seeding, and reading every case as the portal's search index and
//! the matcher load them, are timed.
//! The process's resident memory is printed after each in-memory index is built.
//!
//! Everything runs on this machine, against loopback only, for a bounded time.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use athar_catalog::matching::eval;
use athar_catalog::{Photos, Records};
use athar_portal::store::{self, Role};
use athar_portal::{auth, App, Options};
use athar_sql::Db;
use athar_vault::{InitOptions, SecretString, Vault};

/// Counts live heap bytes, to measure what the in-memory indexes hold.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live_mib() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

/// Cases projected from real signed events; beyond this many, rows are copied.
const FROM_EVENTS: usize = 50_000;

fn main() {
    let pg = std::env::args().any(|a| a == "--pg");
    let mut args = std::env::args().skip(1).filter(|a| a != "--pg");
    let cases: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let pg_url = pg.then(|| {
        std::env::var("ATHAR_TEST_PG").expect(
            "--pg needs ATHAR_TEST_PG (and PGPASSWORD): source target/services/env after scripts/services",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vault");
    let pass = SecretString::from("load benchmark".to_string());

    // With --pg the vault's catalogue, and so the portal's tables, live in a fresh database.
    let database = pg_url.as_ref().map(|url| {
        let name = format!("bench_load_{}", std::process::id());
        Db::connect_postgres(url, "public")
            .unwrap()
            .batch(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = url.rsplit_once('/').expect("postgres://…/DB");
        (format!("{base}/{name}"), name)
    });
    let t = Instant::now();
    let synthetic = eval::synthetic(cases.min(FROM_EVENTS), 11);
    let mut vault = Vault::init(
        &root,
        &pass,
        &InitOptions {
            scrypt_log_n: 10,
            catalog: database.as_ref().map(|(url, _)| url.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    for chunk in synthetic.drafts.chunks(20_000) {
        vault.append(chunk.to_vec()).unwrap();
    }
    let cat_key = vault.catalog_key();
    drop(vault);
    println!(
        "vault: {} events for {} cases in {:.1} s",
        synthetic.drafts.len(),
        cases.min(FROM_EVENTS),
        t.elapsed().as_secs_f64()
    );
    let options = Options::default();
    let t = Instant::now();
    let app = Arc::new(App::open(&root, &pass, options.clone()).unwrap());
    let n_cases = app.catalogs.get().stats().unwrap();
    println!(
        "catalogue: {} numbered cases, projected in {:.1} s",
        n_cases.cases,
        t.elapsed().as_secs_f64()
    );
    if cases > FROM_EVENTS {
        let t = Instant::now();
        let (engine, cat) = match &database {
            Some((url, _)) => (
                "PostgreSQL",
                Db::connect_postgres(url, athar_catalog::PG_SCHEMA).unwrap(),
            ),
            None => (
                "SQLite",
                Db::open_sqlite(&root.join(athar_portal::app::CATALOG_FILE), &cat_key).unwrap(),
            ),
        };
        let n = replicate(&cat, cases).unwrap();
        println!(
            "catalogue ({engine}): grown to {n} cases by copying rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        time_index_reads(engine, &cat);
    }
    println!("resident memory after opening: {} MiB", rss_mib());

    // A family with 20 records (facts as families give them, some wrong or missing).
    let family = store::add_user(
        &app.db.get(),
        "family@load",
        "family",
        Role::Family,
        &auth::hash_password("load test password"),
    )
    .unwrap();
    let mut record_ids = Vec::new();
    for (r, _) in synthetic.records.iter().take(20) {
        let mut r = r.clone();
        r.owner = family.id.clone();
        app.catalogs.get().put_record(&r).unwrap();
        record_ids.push(r.id.clone());
    }
    let cookie_id = auth::random_hex(32);
    store::create_session(
        &app.db.get(),
        &auth::sha256_hex(&cookie_id),
        Some(&family.id),
        3600,
    )
    .unwrap();
    let cookie = format!("{}={cookie_id}", auth::SESSION_COOKIE);

    // The two in-memory indexes, built here so their heap can be measured.
    let before = live_mib();
    let t = Instant::now();
    athar_catalog::matching::cached_table(&app.catalogs.get()).unwrap();
    println!(
        "matcher's case table: {:.0} MiB of heap, built in {:.1} s",
        live_mib() - before,
        t.elapsed().as_secs_f64()
    );
    let before = live_mib();
    let t = Instant::now();
    app.search_cases(&athar_catalog::CaseFilter {
        limit: Some(1),
        ..Default::default()
    })
    .unwrap();
    println!(
        "search index: {:.0} MiB of heap, built in {:.1} s",
        live_mib() - before,
        t.elapsed().as_secs_f64()
    );

    // Ranking cost without the page cache: each record once.
    let mut rank_ms = Vec::new();
    for id in &record_ids {
        let r = app.catalogs.get().record(id).unwrap().unwrap();
        let t = Instant::now();
        let c = athar_catalog::matching::rank(&app.catalogs.get(), &r, 10).unwrap();
        rank_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(c.len() <= 10);
    }
    rank_ms.sort_by(f64::total_cmp);

    println!(
        "ranking one record against {cases} cases (uncached): median {:.1} ms, max {:.1} ms",
        rank_ms[rank_ms.len() / 2],
        rank_ms[rank_ms.len() - 1]
    );

    // Search paths: by number (ASCII and Arabic-Indic), by branch and dates, by hospital.
    let rows = app
        .catalogs
        .get()
        .cases(&athar_catalog::CaseFilter {
            limit: Some(400),
            ..Default::default()
        })
        .unwrap();
    let mut search: Vec<String> = Vec::new();
    for (i, c) in rows.iter().enumerate().step_by(7).take(40) {
        let d = c.detainee.clone().unwrap_or_default();
        search.push(match i % 3 {
            0 => format!("/search?number={d}"),
            1 => format!("/search?number={}", to_arabic_digits(&d)),
            _ => format!(
                "/search?branch={}&from=2012-01-01&to=2012-01-31",
                c.branch.clone().unwrap_or_default()
            ),
        });
    }
    let candidates: Vec<String> = record_ids
        .iter()
        .map(|id| format!("/records/{id}"))
        .collect();

    let (tx, rx) = std::sync::mpsc::channel();
    let served = app.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            athar_portal::serve(served, l).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let base = format!("http://{addr}");
    // Check the pages answer, and warm the candidate cache as a family's first visit would.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    for p in search.iter().chain(candidates.iter()) {
        let r = agent
            .get(format!("{base}{p}"))
            .header("Cookie", &cookie)
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{p}");
    }

    println!("resident memory with both indexes built: {} MiB", rss_mib());

    println!();
    println!("wrk, 2 threads, 16 connections, {seconds} s each (wrk shares the 2 cores with the server):");
    for (name, paths) in [("search", &search), ("candidates", &candidates)] {
        let script = dir.path().join(format!("{name}.lua"));
        write_script(&script, paths, &cookie);
        let out = std::process::Command::new("wrk")
            .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(&base)
            .output()
            .expect("wrk is not installed: apt-get install wrk (scripts/test installs it)");
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.contains("Requests/sec") {
            println!(
                "wrk failed: {}\n{text}\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&script)
                    .unwrap_or_default()
                    .lines()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        println!("--- {name} ---");
        for line in text.lines().filter(|l| {
            l.contains("Latency")
                || l.contains('%')
                || l.contains("Requests/sec")
                || l.contains("requests in")
                || l.contains("Non-2xx")
        }) {
            println!("{line}");
        }
    }

    println!();
    let rate = 200.0;
    println!("fixed rate {rate} req/s for {seconds} s, half search, half candidates (latency from the scheduled send time):");
    let (p50, p99, max, n, errors) = fixed_rate(
        &base,
        &cookie,
        &search,
        &candidates,
        rate,
        Duration::from_secs(seconds),
    );
    println!("  {n} requests, {errors} errors: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
    drop(app);
    if let (Some(url), Some((_, name))) = (&pg_url, &database) {
        let admin = Db::connect_postgres(url, "public").unwrap();
        admin
            .batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    }
}

const CASE_COLS: &str =
    "id, basis, status, detainee, branch, report, hospital, first_taken, last_taken, camera, seq";
const OBS_COLS: &str = "case_id, sex, age_min, age_max, body, seq";

/// Grow `cases` (and their observations) to `target` rows by copying the rows already there:
/// copy k gets ids suffixed `x{k}` and numbers prefixed with k, so ids stay unique and a
/// number search still finds one case or a few. Returns the number of cases.
fn replicate(db: &Db, target: usize) -> athar_sql::Result<usize> {
    db.batch(&format!(
        "CREATE TEMP TABLE base_cases AS SELECT {CASE_COLS} FROM cases;
         CREATE TEMP TABLE base_obs AS SELECT {OBS_COLS} FROM case_observations"
    ))?;
    let base = db
        .query_row("SELECT count(*) FROM base_cases", &[], |r| r.get::<i64>(0))?
        .unwrap_or(0) as usize;
    let mut have = base;
    let mut k = 1;
    while have < target && base > 0 {
        let take = (target - have).min(base) as i64;
        let (suffix, prefix) = (format!("x{k}"), k.to_string());
        db.transaction(|tx| {
            tx.execute(
                "INSERT INTO cases (id, basis, status, detainee, branch, report, hospital,
                                    first_taken, last_taken, camera, seq)
                 SELECT id || CAST(?1 AS TEXT), basis, status, CAST(?2 AS TEXT) || detainee, branch,
                        CAST(?2 AS TEXT) || report, hospital, first_taken, last_taken, camera, seq
                 FROM base_cases ORDER BY id LIMIT ?3",
                &[&suffix, &prefix, &take],
            )?;
            tx.execute(
                "INSERT INTO case_observations (case_id, sex, age_min, age_max, body, seq)
                 SELECT case_id || CAST(?1 AS TEXT), sex, age_min, age_max, body, seq FROM base_obs
                 WHERE case_id IN (SELECT id FROM base_cases ORDER BY id LIMIT ?2)",
                &[&suffix, &take],
            )
        })?;
        have += take as usize;
        k += 1;
    }
    db.batch("DROP TABLE base_cases; DROP TABLE base_obs")?;
    Ok(have)
}

/// Time the two full reads the portal makes when its in-memory indexes are (re)built: every
/// case for search (the catalogue's `cases` query) and every case with observations for
/// matching (`match_rows`). Same SQL as the catalogue's, run on `db`.
fn time_index_reads(engine: &str, db: &Db) {
    let t = Instant::now();
    let n = db
        .rows(
            "SELECT c.id, c.basis, c.status, c.detainee, c.branch, c.report, c.hospital,
                    c.first_taken, c.last_taken, c.camera,
                    (SELECT count(*) FROM case_photos x WHERE x.case_id = c.id),
                    (SELECT o.body FROM case_observations o WHERE o.case_id = c.id)
             FROM cases c ORDER BY c.first_taken, c.id",
            &[],
        )
        .unwrap()
        .len();
    let search = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let m = db
        .rows(
            "SELECT c.id, c.basis, c.status, c.detainee, c.branch, c.report, c.hospital,
                    c.first_taken, o.body
             FROM cases c LEFT JOIN case_observations o ON o.case_id = c.id ORDER BY c.id",
            &[],
        )
        .unwrap()
        .len();
    println!(
        "  {engine}: reading {n} cases for the search index {search:.1} s, {m} for matching {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// This process's resident set size (Linux), in MiB.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

/// Arabic-Indic digits, percent-encoded as a browser sends them.
fn to_arabic_digits(s: &str) -> String {
    let arabic: String = s
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap(),
            None => c,
        })
        .collect();
    arabic.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn write_script(path: &std::path::Path, paths: &[String], cookie: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    writeln!(f, "wrk.headers[\"Cookie\"] = \"{cookie}\"").unwrap();
    writeln!(f, "local paths = {{").unwrap();
    for p in paths {
        writeln!(f, "  \"{}\",", p.replace('"', "")).unwrap();
    }
    writeln!(f, "}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend").unwrap();
}

/// Send at `rate` per second on a schedule from a pool of threads; each latency counts from
/// when the request was due, not when a free thread got to it.
fn fixed_rate(
    base: &str,
    cookie: &str,
    a: &[String],
    b: &[String],
    rate: f64,
    length: Duration,
) -> (f64, f64, f64, usize, usize) {
    let total = (rate * length.as_secs_f64()) as usize;
    let next = Arc::new(AtomicUsize::new(0));
    let lat = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(100);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (next, lat, errors) = (next.clone(), lat.clone(), errors.clone());
            let (base, cookie) = (base.to_string(), cookie.to_string());
            let (a, b) = (a.to_vec(), b.to_vec());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build()
                    .into();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total {
                        break;
                    }
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let path = if i % 2 == 0 {
                        &a[i / 2 % a.len()]
                    } else {
                        &b[i / 2 % b.len()]
                    };
                    let ok = agent
                        .get(format!("{base}{path}"))
                        .header("Cookie", &cookie)
                        .call()
                        .ok()
                        .and_then(|r| {
                            let s = r.status().as_u16();
                            r.into_body().read_to_vec().ok().map(|_| s)
                        })
                        == Some(200);
                    let ms = due.elapsed().as_secs_f64() * 1000.0;
                    if !ok {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                    lat.lock().unwrap().push(ms);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let q = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    (
        q(0.5),
        q(0.99),
        l[l.len() - 1],
        l.len(),
        errors.load(Ordering::SeqCst),
    )
}
