//! `athar-bench scale`: `athar ingest` throughput on the embedded default (files + SQLite)
//! against S3-compatible objects, with the catalogue in SQLite and in PostgreSQL, on the same
//! collection in the same run. The servers are the ones `scripts/services` starts.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

use crate::collection;
use crate::contenders::{settle, Env};
use crate::measure::{run_child, Measured};
use crate::{interleave, Contender, Say};

#[derive(Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    common: crate::Common,
    /// The S3 bucket (`s3://BUCKET`); each run takes a fresh prefix. Credentials and the
    /// server come from the AWS_* environment, as for athar.
    #[arg(long, env = "ATHAR_TEST_S3")]
    s3: String,
    /// A PostgreSQL URL whose user may create databases; each run takes a fresh database.
    #[arg(long, env = "ATHAR_TEST_PG")]
    pg: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Local,
    S3Sqlite,
    S3Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Local => "files + SQLite (default)",
            Backend::S3Sqlite => "S3 objects + SQLite catalogue",
            Backend::S3Postgres => "S3 objects + PostgreSQL catalogue",
        }
    }
}

pub fn run(args: ScaleArgs) -> Result<()> {
    let (env, work) = crate::setup(
        &args.common,
        std::path::Path::new(crate::RESTIC),
        "scratch-scale",
    )?;
    let c = collection::ensure(&work, args.common.photos)?;
    collection::warm(&c.files)?;
    println!(
        "collection: {} photos, {:.1} MB; S3 {}, PostgreSQL {}",
        c.photos(),
        c.bytes as f64 / 1e6,
        args.s3,
        args.pg
    );
    let admin = athar_sql::Db::connect_postgres(&args.pg, "public")?;
    let list = [Backend::Local, Backend::S3Sqlite, Backend::S3Postgres]
        .map(|b| Contender::new(b, "athar", b.name(), "all"))
        .into_iter()
        .collect();
    let rows = interleave(&Say(false), list, args.common.runs, c.bytes, |b, tag| {
        ingest(&env, &c, &args, &admin, b, tag)
    })?;
    println!();
    println!("| backend | median s | MB/s | photos/s | time / default |");
    println!("|---|---|---|---|---|");
    let base = rows[0].samples.median_secs().unwrap_or(f64::NAN);
    for row in &rows {
        let secs = row.samples.median_secs().unwrap_or(f64::NAN);
        println!(
            "| {} | {:.2} | {:.1} | {:.0} | {:.2}× |",
            row.name,
            secs,
            c.bytes as f64 / 1e6 / secs,
            c.photos() as f64 / secs,
            secs / base
        );
    }
    Ok(())
}

/// `athar init` on the backend (untimed), then `athar ingest --no-analyze --json` (timed).
fn ingest(
    env: &Env,
    c: &collection::Collection,
    args: &ScaleArgs,
    admin: &athar_sql::Db,
    backend: Backend,
    tag: &str,
) -> Result<Measured> {
    let vault = env.scratch.join(format!("vault-{}-{tag}", backend as u8));
    env.clean(&vault)?;
    let mut init = env.athar_cmd();
    init.arg("init").arg(&vault).arg("--scrypt-log-n=10");
    let unique = format!("bench_{}_{}_{tag}", std::process::id(), backend as u8);
    if backend != Backend::Local {
        init.arg("--objects")
            .arg(format!("{}/{unique}", args.s3.trim_end_matches('/')));
    }
    let mut database = None;
    if backend == Backend::S3Postgres {
        // One statement per call: PostgreSQL runs a multi-statement batch as one transaction,
        // which these refuse.
        admin.batch(&format!("DROP DATABASE IF EXISTS {unique}"))?;
        admin.batch(&format!("CREATE DATABASE {unique}"))?;
        let (base, _) = args.pg.rsplit_once('/').context("postgres://…/DB")?;
        init.arg("--catalog").arg(format!("{base}/{unique}"));
        database = Some(unique.clone());
    }
    run_child(&mut init, &env.logs, "athar-init")?;
    let mut cmd = env.athar_cmd();
    cmd.arg("ingest")
        .arg(&vault)
        .arg(&c.dir)
        .args(["--json", "--no-analyze"]);
    settle();
    let (m, out) = run_child(&mut cmd, &env.logs, &format!("athar-ingest-scale-{tag}"))?;
    let v: Value = serde_json::from_str(&out).context("parsing athar ingest --json")?;
    if v["files"].as_u64() != Some(c.photos() as u64) {
        bail!(
            "athar ingest took {:?} files of {}: {out}",
            v["files"],
            c.photos()
        );
    }
    env.clean(&vault)?;
    if let Some(db) = database {
        admin.batch(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    }
    Ok(m)
}
