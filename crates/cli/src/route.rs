//! The flash-drive route: `source init|trust|show`, `pack`, `receive`, `import`, `export`.
//!
//! The work is in the `athar-bundle` crate; this module parses options, asks for
//! passphrases, shows progress and prints summaries.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;

use athar_bundle::export::{ExportOptions, ExportSummary};
use athar_bundle::import::{ImportOptions, ImportOutcome, Registry};
use athar_bundle::pack::{PackOptions, PackSummary};
use athar_bundle::profile::Profile;
use athar_bundle::receive::{Outcome, ReceiveOptions, ReceiveSummary};
use athar_catalog::{Catalog, EventFilter};
use athar_vault::{kind, Access, SecretString};

use crate::session::Session;
use crate::{output, passphrase, PassArgs};

#[derive(Subcommand)]
pub enum SourceAction {
    /// Create a source profile: the archive's age recipients and a new signing key (under a
    /// passphrase). Prints the source's public key, for the archive to trust.
    ///
    /// The profile holds no key that can decrypt: the source cannot read what it packs.
    Init {
        /// Directory for the new profile; must be absent or empty.
        profile: PathBuf,
        /// An age recipient of the archive team (`athar keys VAULT` prints it). Repeat for
        /// several.
        #[arg(long = "to", value_name = "RECIPIENT", required = true)]
        to: Vec<String>,
        /// scrypt work factor for the passphrase (log2 N). Lower only for tests.
        #[arg(long, default_value_t = athar_vault::keys::DEFAULT_SCRYPT_LOG_N, hide = true)]
        scrypt_log_n: u8,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Trust a source's (or a partner archive's) signing key, so that its bundles can be
    /// imported. Logged as a signed "trust" event.
    Trust {
        vault: PathBuf,
        /// The key as `athar source init` (or a partner's `athar keys`) printed it.
        key: String,
        /// What to call this source in the log.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Print a profile's public key, recipients and how many bundles it has packed.
    Show {
        profile: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List the sources and partners a vault trusts, with the bundles imported from each.
    List {
        vault: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
}

#[derive(Args)]
pub struct PackArgs {
    /// The source profile (`athar source init`).
    profile: PathBuf,
    /// Files and folders to pack.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the parts (the flash drive).
    #[arg(long)]
    out: PathBuf,
    /// Largest part, e.g. 4000M, 700MiB, 64k (default: just under FAT32's 4 GiB).
    #[arg(long, value_parser = parse_size)]
    part_size: Option<u64>,
    /// Reed-Solomon parity as a percentage of the data: that much loss is repaired.
    #[arg(long, default_value_t = athar_bundle::pack::DEFAULT_PARITY, value_name = "PERCENT")]
    parity: u32,
    /// Worker threads for hashing and encryption (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
pub struct ReceiveArgs {
    /// The drive (a directory) holding the parts.
    drive: PathBuf,
    /// Copy verified (and repaired) bundles into this directory.
    #[arg(long, required_unless_present = "check")]
    store: Option<PathBuf>,
    /// Only check and report; copy nothing.
    #[arg(long, conflicts_with = "store")]
    check: bool,
    /// Accept only bundles signed by this key (repeatable).
    #[arg(long = "source", value_name = "KEY")]
    sources: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    vault: PathBuf,
    /// Directories holding bundles (a drive, or a courier's store).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Worker threads for decryption (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the analysis of new photos (EXIF, perceptual hashes, cases) that follows an
    /// import, as it follows an ingest; `athar analyze` does it later.
    #[arg(long)]
    no_analyze: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
pub struct ExportArgs {
    vault: PathBuf,
    /// The partner archive's age recipient (repeatable).
    #[arg(long = "to", value_name = "RECIPIENT", required = true)]
    to: Vec<String>,
    /// The checkpoint the partner last received (a file holding the signed note); omit
    /// for the first export, which carries the whole log.
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    since: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_parser = parse_size)]
    part_size: Option<u64>,
    #[arg(long, default_value_t = athar_bundle::pack::DEFAULT_PARITY, value_name = "PERCENT")]
    parity: u32,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pass: PassArgs,
}

/// `4000M`, `700MiB`, `64k`, `1G`, or bytes. k/M/G are powers of 1024, like FAT's limits.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4000M, 64k)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{s:?}: unknown unit (use k, M or G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn source_passphrase(pass: &PassArgs, new: bool) -> Result<SecretString> {
    let label = if new {
        "New source key passphrase"
    } else {
        "Source key passphrase"
    };
    passphrase::ask(pass, label, new)
}

pub fn source(action: SourceAction) -> Result<ExitCode> {
    match action {
        SourceAction::Init {
            profile,
            to,
            scrypt_log_n,
            pass,
        } => {
            athar_bundle::profile::parse_recipients(&to)?;
            let passphrase = source_passphrase(&pass, true)?;
            let p = Profile::init(&profile, &to, &passphrase, scrypt_log_n)?;
            println!("created source profile {}", profile.display());
            println!("  source key  {}", p.config.key);
            for r in &p.config.recipients {
                println!("  packs for   {r}");
            }
            println!("Give the source key to the archive, which trusts it with:");
            println!("  athar source trust VAULT {} --name NAME", p.config.key);
            println!("This profile cannot decrypt what it packs.");
            Ok(ExitCode::SUCCESS)
        }
        SourceAction::Trust {
            vault,
            key,
            name,
            pass,
        } => {
            let mut session = Session::open(&vault, &pass, Access::Write)?;
            let registry = registry(&session)?;
            match athar_bundle::import::trust(&registry, &key, &name)? {
                None => println!("already trusted as {name:?}; nothing changed"),
                Some(draft) => {
                    let events = session.vault.append(vec![draft])?;
                    session.catalog.apply(&events)?;
                    println!(
                        "trusted {} as {name:?} (event {})",
                        key.trim(),
                        events[0].event.seq
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SourceAction::Show { profile, json } => {
            let p = Profile::open(&profile)?;
            if json {
                output::json(&json!({
                    "key": p.config.key,
                    "recipients": p.config.recipients,
                    "bundles": p.state.bundles,
                    "events": p.state.events,
                }));
            } else {
                println!("source key  {}", p.config.key);
                for r in &p.config.recipients {
                    println!("packs for   {r}");
                }
                println!("bundles     {} packed", p.state.bundles);
            }
            Ok(ExitCode::SUCCESS)
        }
        SourceAction::List { vault, json, pass } => {
            let session = Session::open(&vault, &pass, Access::Read)?;
            let r = registry(&session)?;
            let rows: Vec<_> = r
                .trusted
                .iter()
                .map(|t| {
                    let bundles: Vec<_> = r
                        .imported
                        .iter()
                        .filter(|i| i.signer == t.key)
                        .map(|i| json!({"bundle": i.bundle, "seq": i.bundle_seq, "event": i.event, "time": i.time}))
                        .collect();
                    json!({"name": t.name, "key": t.key, "trusted_in_event": t.event, "bundles": bundles})
                })
                .collect();
            if json {
                output::json(&rows);
            } else {
                for row in &rows {
                    println!(
                        "{}  {}  {} bundles",
                        row["name"].as_str().unwrap_or(""),
                        row["key"].as_str().unwrap_or(""),
                        row["bundles"].as_array().map_or(0, Vec::len)
                    );
                }
                if rows.is_empty() {
                    eprintln!("this vault trusts no source yet (athar source trust VAULT KEY --name NAME)");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Trusted sources and imported bundles, from the catalogue.
fn registry(session: &Session) -> Result<Registry> {
    let mut rows = Vec::new();
    for k in [kind::TRUST, kind::TRANSFER] {
        rows.extend(session.catalog.events(&EventFilter {
            kind: Some(k.into()),
            ..Default::default()
        })?);
    }
    rows.sort_by_key(|r| r.seq);
    let mut registry = Registry::default();
    for r in rows {
        if let Some(d) = r.details.as_object() {
            registry.add_event(&r.kind, r.seq, &r.time, d);
        }
    }
    Ok(registry)
}

struct Bar(indicatif::ProgressBar);

impl athar_bundle::pack::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl athar_bundle::import::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

pub fn pack(a: PackArgs) -> Result<ExitCode> {
    let mut profile = Profile::open(&a.profile)?;
    let passphrase = source_passphrase(&a.pass, false)?;
    let opts = PackOptions {
        part_size: a.part_size.unwrap_or(athar_bundle::pack::DEFAULT_PART_SIZE),
        parity_percent: a.parity,
        threads: a.threads,
    };
    let progress = Bar(crate::output::byte_bar(
        !a.json && std::io::stderr().is_terminal(),
        "packing",
    ));
    let started = std::time::Instant::now();
    let summary = athar_bundle::pack::pack(
        &mut profile,
        &passphrase,
        &a.paths,
        &a.out,
        &opts,
        &progress,
    )?;
    progress.0.finish_and_clear();
    if a.json {
        output::json(&summary);
    } else {
        print_pack(&summary, &a.out, started.elapsed());
    }
    Ok(if summary.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn print_pack(s: &PackSummary, out: &Path, took: Duration) {
    println!(
        "packed bundle {} (number {} of this source) into {}",
        s.bundle,
        s.seq,
        out.display()
    );
    println!("  files     {}", s.files);
    println!(
        "  bytes     {} ({}/s)",
        output::bytes(s.bytes),
        output::bytes((s.bytes as f64 / took.as_secs_f64().max(1e-6)) as u64)
    );
    println!(
        "  parts     {} of {} each: {}",
        s.parts.len(),
        output::bytes(s.part_size),
        s.parts.join(" ")
    );
    println!(
        "  parity    {}%: any {} part(s) may be lost, or that much damage spread over all",
        s.parity_percent, s.parts_tolerated
    );
    if !s.skipped.is_empty() {
        println!("  skipped   {}", s.skipped.len());
        for k in &s.skipped {
            println!("    {}: {}", k.path, k.reason);
        }
    }
    println!("Nothing readable was kept on this computer: no list of the files, no copy.");
}

pub fn receive(a: ReceiveArgs) -> Result<ExitCode> {
    let opts = ReceiveOptions {
        store: if a.check { None } else { a.store.clone() },
        signers: a.sources.iter().map(|s| s.trim().to_string()).collect(),
    };
    let summary = athar_bundle::receive::receive(&a.drive, &opts)?;
    if a.json {
        output::json(&summary);
    } else {
        print_receive(&summary);
    }
    Ok(if summary.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_receive(s: &ReceiveSummary) {
    for b in &s.bundles {
        let r = &b.report;
        println!(
            "bundle {} ({} #{} from {}, packed {})",
            r.bundle, r.kind, r.seq, r.signer, r.created
        );
        let intact = r.parts.len() - r.bad_parts().len();
        println!(
            "  parts     {} of {} intact; {} of {} shards damaged or missing; parity repairs up to {} per row",
            intact,
            r.parts.len(),
            r.shards_bad,
            r.shards_total,
            r.parity_per_row
        );
        for p in r.bad_parts() {
            let state = match p.state {
                athar_bundle::check::PartState::Missing => "missing",
                athar_bundle::check::PartState::Damaged => "damaged",
                athar_bundle::check::PartState::Intact => "intact",
            };
            println!("    {}: {state}, {} bad shards", p.name, p.bad_shards);
        }
        for n in &r.notes {
            println!("    {}: {}", n.part, n.message);
        }
        let stored_at = b
            .stored_at
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match b.outcome {
            Outcome::Checked if r.intact() => println!("  checked   intact"),
            Outcome::Checked => {
                println!("  checked   damaged but repairable; receive it with --store to repair")
            }
            Outcome::Stored if r.intact() => println!("  stored    {stored_at}"),
            Outcome::Stored => println!("  stored    {stored_at} (repaired from parity)"),
            Outcome::AlreadyStored => {
                println!("  already stored in {stored_at}; nothing copied")
            }
            Outcome::Refused => {
                println!("  REFUSED   {}", b.reason.as_deref().unwrap_or(""));
                eprintln!(
                    "athar: bundle {} refused: {}",
                    r.bundle,
                    b.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    for p in &s.problems {
        let id = p.bundle.as_deref().unwrap_or("?");
        println!("bundle {id}: {}", p.message);
        eprintln!("athar: bundle {id}: {}", p.message);
    }
    println!("Nothing was decrypted: this computer holds only ciphertext.");
}

pub fn import(a: ImportArgs) -> Result<ExitCode> {
    let mut session = Session::open(&a.vault, &a.pass, Access::Write)?;
    let dirs: Vec<&Path> = a.dirs.iter().map(PathBuf::as_path).collect();
    let (results, problems) = import_into(&mut session, &dirs, a.threads, !a.json)?;
    let failed = results
        .iter()
        .any(|r| r.get("outcome") == Some(&json!("refused")))
        || !problems.is_empty();
    let new: u64 = results.iter().filter_map(|r| r["new"].as_u64()).sum();
    let analysis = if !a.no_analyze && new > 0 {
        let s = crate::analyze::analyze(&mut session, a.threads, !a.json)?;
        if !a.json {
            crate::analyze::report(&s, false);
        }
        Some(s)
    } else {
        None
    };
    if a.json {
        output::json(&json!({"bundles": results, "problems": problems, "analysis": analysis}));
    }
    for p in &problems {
        eprintln!(
            "athar: bundle {}: {}",
            p.bundle.as_deref().unwrap_or("?"),
            p.message
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Import every bundle in `dirs` into an open session; one JSON value per bundle.
pub fn import_into(
    session: &mut Session,
    dirs: &[&Path],
    threads: Option<usize>,
    human: bool,
) -> Result<(Vec<serde_json::Value>, Vec<athar_bundle::scan::Problem>)> {
    let (found, problems) = athar_bundle::import::scan_dirs(dirs)?;
    if found.is_empty() && problems.is_empty() {
        bail!(
            "no bundle parts found in {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut results = Vec::new();
    for b in &found {
        let registry = registry(session)?;
        let progress = Bar(crate::output::byte_bar(
            human && std::io::stderr().is_terminal(),
            "importing",
        ));
        // A second connection answers "did the vault hold this object already?" while the
        // import borrows the vault.
        let checker = crate::session::open_catalog(&session.vault)?;
        let held = |sha: &str| checker.object(sha).ok().flatten().is_some();
        let opts = ImportOptions {
            threads,
            held: Some(&held),
        };
        let outcome =
            athar_bundle::import::import(&mut session.vault, &registry, b, &opts, &progress);
        progress.0.finish_and_clear();
        match outcome {
            Ok(ImportOutcome::Imported(s)) => {
                session.catalog.apply(&s.events)?;
                if human {
                    println!(
                        "imported bundle {} from {} (#{}): {} files, {} new, {}{}",
                        s.bundle,
                        s.source,
                        s.bundle_seq,
                        s.files,
                        s.new,
                        output::bytes(s.bytes),
                        if s.repaired.is_empty() {
                            String::new()
                        } else {
                            format!("; repaired from parity: {}", s.repaired.join(", "))
                        }
                    );
                    if let Some(n) = s.checkpoint_size {
                        println!("  the sender's log is now verified up to {n} events (consistency proof checked)");
                    }
                }
                let mut v = serde_json::to_value(ImportOutcome::Imported(s)).expect("serialises");
                v["outcome"] = json!("imported");
                results.push(v);
            }
            Ok(already @ ImportOutcome::AlreadyImported { .. }) => {
                if let ImportOutcome::AlreadyImported {
                    bundle,
                    event,
                    time,
                } = &already
                {
                    if human {
                        println!("bundle {bundle} was already imported (event {event}, {time}); nothing changed");
                    }
                }
                results.push(serde_json::to_value(already).expect("serialises"));
            }
            Err(e) => {
                eprintln!("athar: bundle {} refused: {e}", b.manifest.bundle);
                results.push(json!({"outcome": "refused", "bundle": b.manifest.bundle, "reason": e.to_string()}));
            }
        }
    }
    Ok((results, problems))
}

pub fn export(a: ExportArgs) -> Result<ExitCode> {
    let since = match &a.since {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading the checkpoint {}", p.display()))?,
        ),
        None => None,
    };
    let session = Session::open(&a.vault, &a.pass, Access::Write)?;
    let opts = ExportOptions {
        part_size: a.part_size.unwrap_or(athar_bundle::pack::DEFAULT_PART_SIZE),
        parity_percent: a.parity,
    };
    let progress = Bar(crate::output::byte_bar(
        !a.json && std::io::stderr().is_terminal(),
        "exporting",
    ));
    let s: ExportSummary = athar_bundle::export::export(
        &session.vault,
        &a.to,
        since.as_deref(),
        &a.out,
        &opts,
        &progress,
    )?;
    progress.0.finish_and_clear();
    if a.json {
        output::json(&s);
    } else {
        println!(
            "exported bundle {} into {}: events {}..{}, {} files, {}",
            s.bundle,
            a.out.display(),
            s.from_size + 1,
            s.to_size,
            s.files,
            output::bytes(s.bytes)
        );
        println!(
            "  parts     {} of {} each",
            s.parts.len(),
            output::bytes(s.part_size)
        );
        println!("Keep this checkpoint for the next export's --since:");
        print!("{}", s.checkpoint);
    }
    Ok(ExitCode::SUCCESS)
}

/// What `demo_route` did, for the demo to print.
#[allow(dead_code)] // used by demo.rs
pub struct DemoRoute {
    pub drive: PathBuf,
    pub courier: PathBuf,
    pub pack: PackSummary,
    pub receive: ReceiveSummary,
    pub imported: Vec<serde_json::Value>,
    pub lines: Vec<String>,
}

#[allow(dead_code)] // used by demo.rs
/// The demo's route: a source profile packing `paths` for `session`'s vault, the courier
/// receiving the drive, the archive importing (without analysis: call `analyze` after).
/// Everything under `work` (source-profile/, drive/, courier/).
pub fn demo_route(session: &mut Session, paths: &[PathBuf], work: &Path) -> Result<DemoRoute> {
    let passphrase =
        SecretString::from("demo source passphrase: not for real evidence".to_string());
    let profile_dir = work.join("source-profile");
    let drive = work.join("drive");
    let courier = work.join("courier");
    let recipient = session.vault.config().recipient.clone();
    let mut profile = Profile::init(&profile_dir, &[recipient], &passphrase, 12)?;
    let registry = registry(session)?;
    if let Some(draft) = athar_bundle::import::trust(&registry, &profile.config.key, "demo source")?
    {
        let events = session.vault.append(vec![draft])?;
        session.catalog.apply(&events)?;
    }
    let progress = Bar(crate::output::byte_bar(
        std::io::stderr().is_terminal(),
        "packing",
    ));
    let started = std::time::Instant::now();
    let pack = athar_bundle::pack::pack(
        &mut profile,
        &passphrase,
        paths,
        &drive,
        &PackOptions::default(),
        &progress,
    )?;
    progress.0.finish_and_clear();
    let pack_secs = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let receive = athar_bundle::receive::receive(
        &drive,
        &ReceiveOptions {
            store: Some(courier.clone()),
            signers: vec![profile.config.key.clone()],
        },
    )?;
    if !receive.all_ok() {
        bail!("the courier could not receive the demo bundle");
    }
    let receive_secs = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let (imported, problems) = import_into(session, &[courier.as_path()], None, false)?;
    if !problems.is_empty() || imported.iter().any(|r| r["outcome"] != "imported") {
        bail!("the demo bundle could not be imported: {imported:?} {problems:?}");
    }
    let import_secs = started.elapsed().as_secs_f64();
    let rate = |secs: f64| output::bytes((pack.bytes as f64 / secs.max(1e-6)) as u64);
    let lines = vec![
        format!(
            "packed {} files ({}) into {} parts on {} ({}/s), {}% parity",
            pack.files,
            output::bytes(pack.bytes),
            pack.parts.len(),
            drive.display(),
            rate(pack_secs),
            pack.parity_percent
        ),
        format!(
            "the courier checked every shard and signature, without a key, into {} ({}/s)",
            courier.display(),
            rate(receive_secs)
        ),
        format!(
            "imported into the vault: {} files, {} new ({}/s)",
            imported[0]["files"],
            imported[0]["new"],
            rate(import_secs)
        ),
    ];
    Ok(DemoRoute {
        drive,
        courier,
        pack,
        receive,
        imported,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("4000M"), Ok(4000 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn the_demo_route_packs_receives_and_imports() {
        let dir = tempfile::tempdir().unwrap();
        let pass = SecretString::from("demo test passphrase".to_string());
        let vault = dir.path().join("vault");
        athar_vault::Vault::init(
            &vault,
            &pass,
            &athar_vault::InitOptions {
                scrypt_log_n: 10,
                ..Default::default()
            },
        )
        .unwrap();
        let photos = dir.path().join("collection");
        std::fs::create_dir_all(&photos).unwrap();
        for i in 0..5u8 {
            std::fs::write(photos.join(format!("{i}.jpg")), vec![i; 1000 + i as usize]).unwrap();
        }
        let mut session = Session::open_with(&vault, &pass, Access::Write).unwrap();
        let route = demo_route(&mut session, std::slice::from_ref(&photos), dir.path()).unwrap();
        assert_eq!(route.pack.files, 5);
        assert_eq!(route.imported[0]["new"], 5);
        assert_eq!(route.lines.len(), 3);
        assert!(route.courier.join(&route.pack.bundle).is_dir());
        assert!(route.drive.is_dir());
        assert_eq!(route.receive.bundles.len(), 1);
    }
}
