//! `athar-bench`: ingest and verify throughput of athar against restic, `sha256sum` and a
//! SHA-256 + age floor, on the same generated collection, and athar's peak memory as the
//! collection grows.
//!
//! `cargo build --release -p athar-cli && cargo run --release -p athar-bench -- ingest`

mod authenticity;
mod collection;
mod contenders;
mod measure;
mod media_only;
mod report;
mod scale;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use collection::Collection;
use contenders::{settle, Env, IngestOpts};
use measure::{Measured, Samples};
use report::{Goal, Report, Row, Rss, RssSeries, Table, LIGHT_SCRYPT_LOG_N};

#[derive(Parser)]
#[command(
    name = "athar-bench",
    about = "Benchmark athar against restic and the floor"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Ingest and verify throughput, and peak RSS at two collection sizes.
    Ingest(IngestArgs),
    /// Full image analysis (`athar analyze`) against `exiftool -json -r` on the same folder.
    Analyze(AnalyzeArgs),
    /// `athar authenticity --all`: time, and accuracy against the ground truth.
    Authenticity(authenticity::AuthenticityArgs),
    /// `athar ingest` to S3 (SeaweedFS) and PostgreSQL against the embedded default.
    Scale(scale::ScaleArgs),
    /// Run a command and write its wait status, peak RSS, CPU and wall time to REPORT
    /// (used by the benchmark itself; see `measure::run_child`).
    #[command(hide = true)]
    Launch {
        report: PathBuf,
        #[arg(last = true, required = true)]
        command: Vec<OsString>,
    },
}

#[derive(Args)]
struct IngestArgs {
    #[command(flatten)]
    common: Common,
    /// Timed runs of `athar ingest` with its image analysis (slow), after the others.
    #[arg(long, default_value_t = 1)]
    analysis_runs: usize,
    /// Collection sizes (photos) at which to measure athar's peak RSS; 0 to skip.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000")]
    rss_sizes: Vec<usize>,
    /// Print only the markdown report on stdout (progress goes to stderr).
    #[arg(long)]
    markdown: bool,
    /// The restic binary to compare with.
    #[arg(long, default_value = RESTIC)]
    restic: PathBuf,
}

#[derive(Args)]
struct AnalyzeArgs {
    #[command(flatten)]
    common: Common,
}

/// Where restic is unless `ingest --restic` says otherwise (only `ingest` runs it).
const RESTIC: &str = "/usr/bin/restic";

/// What every benchmark takes: the collection's size, the runs, where to work, which athar.
#[derive(Args)]
pub struct Common {
    /// Photos in the collection (at least; the generator works in whole bodies).
    #[arg(long, default_value_t = 2000)]
    pub photos: usize,
    /// Timed runs of each contender, interleaved.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Working directory: cached collections and scratch output (default:
    /// $TMPDIR/athar-bench, shared by every benchmark).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// The athar binary (default: `athar` next to this program).
    #[arg(long)]
    pub athar: Option<PathBuf>,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Ingest(args) => ingest(args),
        Cmd::Analyze(args) => analyze(args),
        Cmd::Authenticity(args) => authenticity::run(args),
        Cmd::Scale(args) => scale::run(args),
        Cmd::Launch { report, command } => measure::launch(&report, &command),
    }
}

/// Progress lines: on stdout, unless stdout is reserved for the markdown.
struct Say(bool);

impl Say {
    fn line(&self, s: impl AsRef<str>) {
        if self.0 {
            eprintln!("{}", s.as_ref());
        } else {
            println!("{}", s.as_ref());
        }
    }

    fn run(&self, r: usize, name: &str, m: &Measured, bytes: u64) {
        self.line(format!(
            "run {}: {name}: {:.2} s, {:.0} MB/s, {:.2} cores{}",
            r + 1,
            m.time.as_secs_f64(),
            measure::mb_per_s(bytes, m.time),
            m.cpu.as_secs_f64() / m.time.as_secs_f64(),
            m.max_rss_kib
                .map_or(String::new(), |k| format!(", peak RSS {} MiB", k / 1024))
        ));
    }
}

/// One contender: a key for the goals, how it is shown, its thread count.
struct Contender<K> {
    kind: K,
    key: &'static str,
    name: String,
    threads: &'static str,
}

impl<K> Contender<K> {
    fn new(kind: K, key: &'static str, name: impl Into<String>, threads: &'static str) -> Self {
        Contender {
            kind,
            key,
            name: name.into(),
            threads,
        }
    }
}

#[derive(Clone, Copy)]
enum Ingest {
    Sha256sum,
    Floor(usize),
    Restic,
    Athar,
}

#[derive(Clone, Copy)]
enum Verify {
    Floor(usize),
    Restic,
    Athar,
}

/// Run every contender `runs` times, interleaved: run `r` starts at contender `r` (rotated)
/// so no contender always goes first. Returns one row per contender, in list order.
fn interleave<K: Copy>(
    say: &Say,
    list: Vec<Contender<K>>,
    runs: usize,
    bytes: u64,
    mut measure: impl FnMut(K, &str) -> Result<Measured>,
) -> Result<Vec<Row>> {
    let mut samples = vec![Samples::default(); list.len()];
    for r in 0..runs {
        for k in 0..list.len() {
            let i = (k + r) % list.len();
            let c = &list[i];
            settle();
            let m = measure(c.kind, &format!("run{r}"))?;
            say.run(r, &c.name, &m, bytes);
            samples[i].push(&m);
        }
    }
    Ok(list
        .into_iter()
        .zip(samples)
        .map(|(c, samples)| Row {
            key: c.key,
            name: c.name,
            threads: c.threads,
            samples,
        })
        .collect())
}

/// The goals, for ingest and (the same way) for verify.
fn goals() -> Vec<Goal> {
    vec![
        Goal {
            what: "athar / restic",
            key: "athar",
            against: "restic",
            goal: 8.0,
        },
        Goal {
            what: "athar / floor (1 thread)",
            key: "athar",
            against: "floor",
            goal: 0.5,
        },
    ]
}

fn ingest(args: IngestArgs) -> Result<()> {
    let say = Say(args.markdown);
    let (env, work) = setup(&args.common, &args.restic, "scratch")?;
    let storage_only = IngestOpts {
        scrypt_log_n: None,
        analyze: false,
    };
    let athar_ingest_name = if env.analyzes {
        "`athar ingest --no-analyze`"
    } else {
        "`athar ingest`"
    };

    let load_before = load_average();
    let c = collection::ensure(&work, args.common.photos)?;
    let warm = collection::warm(&c.files)?;
    say.line(format!(
        "collection: {} photos, {:.1} MB in {} (page cache warmed: read once in {:.1} s)",
        c.photos(),
        c.bytes as f64 / 1e6,
        c.dir.display(),
        warm.as_secs_f64()
    ));

    let ingest_list = vec![
        Contender::new(Ingest::Sha256sum, "sha256sum", "`sha256sum`", "1"),
        Contender::new(Ingest::Floor(1), "floor", "floor: SHA-256 then age", "1"),
        Contender::new(Ingest::Floor(2), "floor2", "floor: SHA-256 then age", "2"),
        Contender::new(Ingest::Restic, "restic", "`restic backup`", "all"),
        Contender::new(Ingest::Athar, "athar", athar_ingest_name, "all"),
    ];
    let mut digests = Vec::new();
    let mut ingest_rows = interleave(&say, ingest_list, args.common.runs, c.bytes, |k, tag| {
        Ok(match k {
            Ingest::Sha256sum => contenders::sha256sum(&env, &c)?,
            Ingest::Floor(n) => {
                let (m, d) = contenders::floor_ingest(&env, &c, n)?;
                digests = d;
                m
            }
            Ingest::Restic => contenders::restic_backup(&env, &c, tag)?,
            Ingest::Athar => contenders::athar_ingest(&env, &c, &env.vault(), storage_only, tag)?,
        })
    })?;

    // Verify what the last runs wrote; read it all once so it too comes from memory.
    for dir in [env.vault(), env.restic_repo(), env.floor_dir()] {
        collection::warm(&collection::files_under(&dir)?)?;
    }
    let verify_list = vec![
        Contender::new(
            Verify::Floor(1),
            "floor",
            "floor: age decrypt then SHA-256",
            "1",
        ),
        Contender::new(
            Verify::Floor(2),
            "floor2",
            "floor: age decrypt then SHA-256",
            "2",
        ),
        Contender::new(
            Verify::Restic,
            "restic",
            "`restic check --read-data`",
            "all",
        ),
        Contender::new(Verify::Athar, "athar", "`athar verify`", "all"),
    ];
    let verify_rows = interleave(
        &say,
        verify_list,
        args.common.runs,
        c.bytes,
        |k, tag| match k {
            Verify::Floor(n) => contenders::floor_verify(&env, &digests, n),
            Verify::Restic => contenders::restic_check(&env, tag),
            Verify::Athar => contenders::athar_verify(&env, &c, &env.vault(), tag),
        },
    )?;
    let mut open = Samples::default();
    for r in 0..args.common.runs {
        settle();
        open.push(&contenders::athar_open(
            &env,
            &env.vault(),
            &format!("run{r}"),
        )?);
    }
    for dir in [env.vault(), env.restic_repo(), env.floor_dir()] {
        env.clean(&dir)?;
    }

    // The default ingest, which analyses every new image too: slow, so fewer runs.
    if env.analyzes && args.analysis_runs > 0 {
        let vault = env.scratch.join("athar-vault-analysed");
        let list = vec![Contender::new(
            (),
            "athar+analysis",
            "`athar ingest` (default: with image analysis)",
            "all",
        )];
        let opts = IngestOpts {
            analyze: true,
            ..storage_only
        };
        ingest_rows.extend(interleave(
            &say,
            list,
            args.analysis_runs,
            c.bytes,
            |(), tag| contenders::athar_ingest(&env, &c, &vault, opts, &format!("analysis-{tag}")),
        )?);
        env.clean(&vault)?;
    }

    let rss = peak_rss(&say, &env, &work, &args.rss_sizes)?;

    let report = Report {
        command: command_line(),
        date: now(),
        facts: facts(&env, &c, warm, &load_before),
        notes: notes(&env, &open),
        tables: vec![
            Table {
                title: format!("Ingest, {} runs", args.common.runs),
                rows: ingest_rows,
                goals: goals(),
                bytes: c.bytes,
            },
            Table {
                title: format!("Verify, {} runs", args.common.runs),
                rows: verify_rows,
                goals: goals(),
                bytes: c.bytes,
            },
        ],
        rss,
    };
    if !args.markdown {
        println!();
    }
    print!("{}", report.markdown());
    Ok(())
}

/// Peak RSS of `athar ingest` and `athar verify` on collections of each size: with the
/// default scrypt work factor, with a light one, and (light) with image analysis.
fn peak_rss(say: &Say, env: &Env, work: &Path, sizes: &[usize]) -> Result<Rss> {
    let mut setups = vec![
        IngestOpts {
            scrypt_log_n: None,
            analyze: false,
        },
        IngestOpts {
            scrypt_log_n: Some(LIGHT_SCRYPT_LOG_N),
            analyze: false,
        },
    ];
    if env.analyzes {
        setups.push(IngestOpts {
            scrypt_log_n: Some(LIGHT_SCRYPT_LOG_N),
            analyze: true,
        });
    }
    let mut rss = Rss {
        sizes: Vec::new(),
        series: Vec::new(),
    };
    for o in &setups {
        let scrypt = o
            .scrypt_log_n
            .map_or("2^18 (default)".into(), |n| format!("2^{n}"));
        let (ingest, verify) = match (env.analyzes, o.analyze) {
            (false, _) => ("`athar ingest`", "`athar verify`"),
            (true, false) => ("`athar ingest --no-analyze`", "`athar verify`"),
            (true, true) => (
                "`athar ingest` (with image analysis)",
                "`athar verify` (originals and derivatives)",
            ),
        };
        for command in [ingest, verify] {
            rss.series.push(RssSeries {
                command: command.into(),
                scrypt: scrypt.clone(),
                kib: Vec::new(),
            });
        }
    }
    let vault = env.scratch.join("rss-vault");
    for &size in sizes.iter().filter(|&&s| s > 0) {
        let c = collection::ensure(work, size)?;
        collection::warm(&c.files)?;
        rss.sizes.push((c.photos(), c.bytes));
        for (i, o) in setups.iter().enumerate() {
            let tag = format!("rss{size}-{i}");
            let ingest = contenders::athar_ingest(env, &c, &vault, *o, &tag)?;
            settle();
            let verify = contenders::athar_verify(env, &c, &vault, &tag)?;
            env.clean(&vault)?;
            for (series, m) in rss.series[2 * i..].iter_mut().zip([ingest, verify]) {
                say.line(format!(
                    "peak RSS at {} photos: {}, scrypt {}: {} KiB",
                    c.photos(),
                    series.command,
                    series.scrypt,
                    m.max_rss_kib.unwrap_or(0)
                ));
                series.kib.push(m.max_rss_kib);
            }
        }
    }
    Ok(rss)
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo run --release -p athar-bench -- {}", args.join(" "))
}

fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn proc_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// The 1-, 5- and 15-minute load averages: how busy the shared machine was.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn facts(
    env: &Env,
    c: &Collection,
    warm: std::time::Duration,
    load_before: &str,
) -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    let mem = proc_field("/proc/meminfo", "MemTotal").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    vec![
        (
            "Machine".into(),
            format!(
                "{cores} cores (nproc), {cpu}, {mem} RAM, Linux {}",
                kernel.trim()
            ),
        ),
        (
            "Load average".into(),
            format!(
                "{load_before} at the start, {} at the end (1, 5, 15 min)",
                load_average()
            ),
        ),
        (
            "Tools".into(),
            format!(
                "{}; {}; {}",
                contenders::version(&env.athar, &["--version"]),
                contenders::version(&env.restic, &["version"]),
                contenders::version(Path::new("sha256sum"), &["--version"])
            ),
        ),
        (
            "Collection".into(),
            format!(
                "{} photos, {:.1} MB (athar-corpus, {} bodies, seed 1, 1600×1200 JPEG); \
                 MB/s are 10^6 bytes of photos per second",
                c.photos(),
                c.bytes as f64 / 1e6,
                c.bodies
            ),
        ),
        (
            "Page cache".into(),
            format!(
                "warm: every photo was read once ({:.1} s) before timing, and each \
                 repository is read once before the verify runs, so all contenders read \
                 from memory",
                warm.as_secs_f64()
            ),
        ),
    ]
}

fn notes(env: &Env, open: &Samples) -> Vec<String> {
    let mut notes = vec![
        format!(
            "Fixed cost in every athar command: opening the vault (scrypt unlock at the default \
             work factor, then the catalogue) takes {} s (median of `athar log VAULT --limit 1`)",
            open.median_secs().map_or("?".into(), |s| format!("{s:.2}"))
        ),
        "Runs are interleaved (each run rotates the order) and `sync` is called, untimed, \
         before each timed command so none pays for another's writeback"
            .into(),
        "Timed: `athar ingest VAULT DIR --json` (with `--no-analyze` where marked) after an untimed `athar init` (default scrypt \
         work factor, so the key unlock is in the time); `restic backup` after an untimed \
         `restic init` (default settings); `sha256sum` at most 500 files per process, one \
         process at a time; the floor in this process, reading each file whole, then \
         SHA-256, then age to an X25519 recipient into a file (no fsync)"
            .into(),
        "Durability: athar calls syncfs(2) around each logged batch (512 files); restic \
         fsyncs its pack files; the floor does not sync"
            .into(),
    ];
    if env.analyzes {
        notes.push(
            "This athar analyses every new image after ingesting (EXIF, perceptual hashes, \
             previews, grouping) unless given `--no-analyze`; the comparison with restic and \
             the floor uses `--no-analyze`, which does the same work they do"
                .into(),
        );
    }
    notes
}

/// Issue 4: full analysis (decode, EXIF, hashes, derivatives, stored encrypted and logged)
/// against exiftool's metadata-only pass over the same folder. Each athar run starts from a
/// fresh vault holding the collection unanalysed (the ingest is not timed).
fn analyze(args: AnalyzeArgs) -> Result<()> {
    let (env, work) = setup(&args.common, Path::new(RESTIC), "scratch-analyze")?;
    let c = collection::ensure(&work, args.common.photos)?;
    collection::warm(&c.files)?;
    let light = IngestOpts {
        scrypt_log_n: Some(LIGHT_SCRYPT_LOG_N),
        analyze: false,
    };
    let (mut a, mut m, mut e) = (Vec::new(), Vec::new(), Vec::new());
    let cores = |x: &Measured| x.cpu.as_secs_f64() / x.time.as_secs_f64();
    for r in 0..args.common.runs {
        // A new vault per run, none deleted until the end: on ext4 without a journal (as
        // here), creating files right after deleting thousands costs a scan past every
        // recently deleted inode, which would bill the harness's clean-up to athar.
        let vault = env.scratch.join(format!("analysis-vault-{r}"));
        contenders::athar_ingest(&env, &c, &vault, light, &format!("for-analysis-{r}"))?;
        let ma = contenders::athar_analyze(&env, &c, &vault, &r.to_string())?;
        let mm = media_only::run(&c)?;
        let me = contenders::exiftool(&env, &c, &r.to_string())?;
        // The machine may be shared: each run's own ratios show how far noise moves them.
        let (ta, tm, te) = (
            ma.time.as_secs_f64(),
            mm.time.as_secs_f64(),
            me.time.as_secs_f64(),
        );
        println!(
            "run {}: athar analyze {ta:.2} s ({:.2} cores, ratio {:.2}), the analysis alone {tm:.2} s \
             ({:.2} cores, ratio {:.2}), exiftool -json -r {te:.2} s ({:.2} cores)",
            r + 1,
            cores(&ma),
            ta / te,
            cores(&mm),
            tm / te,
            cores(&me),
        );
        a.push(ma.time.as_secs_f64());
        m.push(mm.time.as_secs_f64());
        e.push(me.time.as_secs_f64());
    }
    let (ma, mm, me) = (
        measure::median(&a),
        measure::median(&m),
        measure::median(&e),
    );
    let photos = c.photos() as f64;
    println!();
    println!(
        "| {} photos, {} runs | median s | photos/s | vs. exiftool |",
        c.photos(),
        args.common.runs
    );
    println!("|---|---:|---:|---:|");
    for (name, t) in [
        (
            "`athar analyze`: the analysis, plus decrypting each original, encrypting 3 derivatives, signed events, catalogue, grouping",
            ma,
        ),
        (
            "the analysis alone (decode, EXIF, PDQ, pHash, card where names carry no numbers, 3 derivatives)",
            mm,
        ),
        ("`exiftool -json -r` (metadata only)", me),
    ] {
        let t = t.unwrap_or(f64::NAN);
        let ratio = measure::ratio(Some(t), me).unwrap_or(f64::NAN);
        println!("| {name} | {t:.2} | {:.0} | {ratio:.2} |", photos / t);
    }
    println!();
    println!(
        "ratios to exiftool (goal: below 1.0): athar analyze {:.2}, the analysis alone {:.2}",
        measure::ratio(ma, me).unwrap_or(f64::NAN),
        measure::ratio(mm, me).unwrap_or(f64::NAN)
    );
    // Deleted now, after the timing, rather than by the next bench just before its own.
    for r in 0..args.common.runs {
        env.clean(&env.scratch.join(format!("analysis-vault-{r}")))?;
    }
    Ok(())
}

/// What every benchmark starts with: the athar binary (next to this program unless given), the
/// working directory (default `$TMPDIR/athar-bench`, where generated collections are kept) and
/// an emptied scratch directory `scratch` inside it.
pub fn setup(common: &Common, restic: &Path, scratch: &str) -> Result<(Env, PathBuf)> {
    if common.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let athar = match &common.athar {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no directory for this program")?
            .join("athar"),
    };
    if !athar.is_file() {
        bail!(
            "{} not found: build it first with `cargo build --release -p athar-cli` \
             (same target directory), or give --athar",
            athar.display()
        );
    }
    let work = common
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("athar-bench"));
    std::fs::create_dir_all(&work)?;
    let work = std::path::absolute(&work)?;
    let scratch = work.join(scratch);
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let env = Env::new(athar, restic.to_path_buf(), scratch)?;
    Ok((env, work))
}
