//! Objects/s and MB/s stored through `Objects::put` (age-encrypt + commit) into a vault on the
//! local disk and into one on S3, with the same synthetic contents and threads.
//!
//!   source target/services/env   # ATHAR_TEST_S3 and the AWS_* variables
//!   cargo run --release -p athar-vault --example s3_put_speed -- [OBJECTS] [KIB] [THREADS]
//!
//! Prints the median of three runs for each store and the ratio. Each S3 run uses a fresh
//! random prefix under ATHAR_TEST_S3.

use std::time::Instant;

use athar_vault::{InitOptions, SecretString, Vault};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers: OBJECTS KIB THREADS"))
        .collect();
    let count = args.first().copied().unwrap_or(300);
    let kib = args.get(1).copied().unwrap_or(1024);
    let threads = args.get(2).copied().unwrap_or(4);
    let s3 =
        std::env::var("ATHAR_TEST_S3").expect("set ATHAR_TEST_S3 (source target/services/env)");

    let fs_runs = runs(|dir, _| run(dir, None, count, kib, threads));
    let s3_runs = runs(|dir, i| {
        let prefix = format!(
            "{}/bench-{}-{i}-{:08x}",
            s3.trim_end_matches('/'),
            std::process::id(),
            rand::random::<u32>()
        );
        run(dir, Some(prefix), count, kib, threads)
    });
    let mb = (count * kib) as f64 / 1024.0;
    println!("{count} objects of {kib} KiB, {threads} threads, median of 3:");
    for (name, secs) in [("fs", fs_runs), ("s3", s3_runs)] {
        println!(
            "  {name}: {:.2} s  {:.0} objects/s  {:.1} MB/s",
            secs,
            count as f64 / secs,
            mb * 1.048576 / secs
        );
    }
    println!(
        "  S3 takes {:.2}x the time of the local disk",
        s3_runs / fs_runs
    );
}

fn runs(mut one: impl FnMut(&std::path::Path, usize) -> f64) -> f64 {
    let mut t: Vec<f64> = (0..3)
        .map(|i| {
            let dir = tempfile::tempdir().expect("temp dir");
            one(dir.path(), i)
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[1]
}

fn run(
    dir: &std::path::Path,
    objects: Option<String>,
    count: usize,
    kib: usize,
    threads: usize,
) -> f64 {
    let opts = InitOptions {
        scrypt_log_n: 10,
        objects,
        ..InitOptions::default()
    };
    let vault = Vault::init(
        &dir.join("vault"),
        &SecretString::from("bench".to_string()),
        &opts,
    )
    .expect("init");
    let store = vault.objects();
    // Distinct contents, made before the clock starts.
    let contents: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let mut seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (0..kib * 1024)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for part in contents.chunks(count.div_ceil(threads)) {
            let store = store.clone();
            s.spawn(move || {
                for c in part {
                    store.put(&mut &c[..]).expect("put");
                }
            });
        }
    });
    vault.store().sync().expect("sync");
    started.elapsed().as_secs_f64()
}
