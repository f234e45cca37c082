//! Load benchmark: the portal's search and candidate pages on a catalogue of synthetic cases.
//!
//!     cargo run --release -p athar-portal --example load -- [CASES] [SECONDS]
//!
//! Builds a vault with CASES cases (default 50,000: `matching::eval::synthetic`), signs a
//! family in with records of its own, serves on 127.0.0.1 with two worker threads, then
//! 1. `wrk --latency` (closed loop: as fast as it goes) on search pages, then on candidate
//!    pages, reporting throughput and latency percentiles;
//! 2. a fixed rate of 200 requests/s (open loop, half search, half candidates) from our own
//!    client, latency measured from each request's scheduled time so that a stall is not
//!    hidden by waiting for it (no coordinated omission): p50, p99, max.
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
use athar_vault::{InitOptions, SecretString, Vault};

fn main() {
    let mut args = std::env::args().skip(1);
    let cases: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vault");
    let pass = SecretString::from("load benchmark".to_string());

    let t = Instant::now();
    let synthetic = eval::synthetic(cases, 11);
    let mut vault = Vault::init(
        &root,
        &pass,
        &InitOptions {
            scrypt_log_n: 10,
            ..Default::default()
        },
    )
    .unwrap();
    for chunk in synthetic.drafts.chunks(20_000) {
        vault.append(chunk.to_vec()).unwrap();
    }
    drop(vault);
    println!(
        "vault: {} events for {} cases in {:.1} s",
        synthetic.drafts.len(),
        cases,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let app = Arc::new(App::open(&root, &pass, Options::default()).unwrap());
    let n_cases = app.catalogs.get().stats().unwrap();
    println!(
        "catalogue: {} numbered cases, projected in {:.1} s",
        n_cases.cases,
        t.elapsed().as_secs_f64()
    );

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
