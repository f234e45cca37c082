//! Families' records from the command line, and matching them against the cases:
//! `athar record add|list|withdraw` and `athar match`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};

use athar_catalog::matching::{self, Candidate, Reason};
use athar_catalog::records::{RecordChange, RECORD_DIGEST_KEY};
use athar_catalog::{record_digest, record_event, seal_contact, MissingPerson, Photos, Records};
use athar_vault::Access;

use crate::session::Session;
use crate::{output, PassArgs};

#[derive(Subcommand)]
pub enum RecordAction {
    /// Add a missing-person record from a JSON file ("-" for standard input).
    ///
    /// The fields are those of docs/formats/records.md: names_ar and names_latin (given,
    /// father, grandfather_or_family, mother), sex, birth_date, age_at_arrest, origin,
    /// arrest_date, arrest_place, branch, description, marks, known_numbers, consent. Two
    /// more are taken from the file and not stored as given: "contact" (sealed to the
    /// vault's key) and "photos" (paths of life photos, relative to the file). The custody
    /// log gets only a keyed digest of the record.
    Add {
        vault: PathBuf,
        #[arg(long, value_name = "FILE")]
        json: PathBuf,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// List the records, or find them by name.
    List {
        vault: PathBuf,
        /// Only records whose names meet these, in Arabic script or Latin letters and in any
        /// spelling ("Abd al-Rahman" finds عبد الرحمن and Abdulrahman), best first.
        #[arg(long, value_name = "NAMES")]
        name: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Withdraw a record: erase it, its photos and its contact. The log keeps a digest.
    Withdraw {
        vault: PathBuf,
        id: String,
        #[command(flatten)]
        pass: PassArgs,
    },
}

pub fn record(action: RecordAction) -> Result<ExitCode> {
    match action {
        RecordAction::Add { vault, json, pass } => add(&vault, &json, &pass),
        RecordAction::List {
            vault,
            name,
            json,
            pass,
        } => list(&vault, name.as_deref(), json, &pass),
        RecordAction::Withdraw { vault, id, pass } => withdraw(&vault, &id, &pass),
    }
}

fn read_input(file: &Path) -> Result<String> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the record from standard input")?;
    } else {
        text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the record {}", file.display()))?;
    }
    Ok(text)
}

fn add(root: &Path, file: &Path, pass: &PassArgs) -> Result<ExitCode> {
    let text = read_input(file)?;
    let mut value: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?;
    let Some(obj) = value.as_object_mut() else {
        bail!("{}: the record must be a JSON object", file.display());
    };
    let contact = match obj.remove("contact") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => bail!("{}: \"contact\" must be a string", file.display()),
    };
    let photo_paths: Vec<PathBuf> = match obj.remove("photos") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value::<Vec<PathBuf>>(v)
            .with_context(|| format!("{}: \"photos\" must be a list of paths", file.display()))?,
    };
    let base = file.parent().unwrap_or(Path::new("."));
    // Read the photos before anything is stored, so a missing file changes nothing.
    let mut photos = Vec::new();
    for p in &photo_paths {
        let path = if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        };
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading the life photo {}", path.display()))?;
        let media_type = athar_vault::sniff::media_type(&bytes[..bytes.len().min(64)]);
        if !media_type.starts_with("image/") {
            bail!("{} is not an image ({media_type})", path.display());
        }
        photos.push((bytes, media_type));
    }
    let fresh = MissingPerson::new("cli");
    for (k, v) in [
        ("id", &fresh.id),
        ("owner", &fresh.owner),
        ("created", &fresh.created),
        ("updated", &fresh.updated),
    ] {
        obj.entry(k).or_insert_with(|| json!(v));
    }
    let r: MissingPerson = serde_json::from_value(value)
        .with_context(|| format!("{}: not a missing-person record", file.display()))?;
    r.validate()?;

    let mut session = Session::open(root, pass, Access::Write)?;
    if session.catalog.record(&r.id)?.is_some() {
        bail!(
            "a record with id {} exists already; leave \"id\" out to get a new one",
            r.id
        );
    }
    let sealed = contact
        .map(|c| seal_contact(&session.vault.identity().to_public(), &c))
        .transpose()?;
    session.catalog.put_record(&r)?;
    for (bytes, media_type) in &photos {
        session.catalog.add_photo(&r.id, bytes, media_type)?;
    }
    if let Some(s) = &sealed {
        session.catalog.set_contact(&r.id, s)?;
    }
    let key = session.vault.secrets().subkey(RECORD_DIGEST_KEY);
    let digest = record_digest(&key, &r);
    let events = session
        .vault
        .append(vec![record_event(RecordChange::Submitted, &digest)])
        .context("logging the record's digest")?;
    athar_catalog::Catalog::apply(&mut session.catalog, &events)?;
    println!("{}", r.id);
    eprintln!(
        "added record {} ({} photos{}); logged its digest as event {}",
        r.id,
        photos.len(),
        if sealed.is_some() {
            ", sealed contact"
        } else {
            ""
        },
        events[0].event.seq
    );
    Ok(ExitCode::SUCCESS)
}

fn display_name(r: &MissingPerson) -> String {
    let join = |n: &athar_catalog::PersonNames| {
        [&n.given, &n.father, &n.grandfather_or_family]
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match (join(&r.names_latin), join(&r.names_ar)) {
        (l, a) if l.is_empty() => a,
        (l, a) if a.is_empty() => l,
        (l, a) => format!("{l} ({a})"),
    }
}

fn list(root: &Path, name: Option<&str>, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    let records = match name {
        Some(q) => athar_catalog::search_records(&session.catalog, q)?
            .into_iter()
            .map(|h| h.record)
            .collect(),
        None => session.catalog.all_records()?,
    };
    if json_out {
        output::json(&records);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:<10} {:<7} {:<10} name",
        "id", "owner", "branch", "arrest"
    );
    for r in &records {
        println!(
            "{:<32} {:<10} {:<7} {:<10} {}",
            r.id,
            r.owner,
            r.branch.as_deref().unwrap_or("-"),
            r.arrest_date.as_deref().unwrap_or("-"),
            display_name(r)
        );
    }
    eprintln!("{} records", records.len());
    Ok(ExitCode::SUCCESS)
}

fn withdraw(root: &Path, id: &str, pass: &PassArgs) -> Result<ExitCode> {
    let mut session = Session::open(root, pass, Access::Write)?;
    let Some(r) = session.catalog.record(id)? else {
        bail!("no missing-person record {id:?}; `athar record list VAULT` shows the records");
    };
    let key = session.vault.secrets().subkey(RECORD_DIGEST_KEY);
    let digest = record_digest(&key, &r);
    // Erase first: if the process dies before logging, the family's data is gone, which is
    // what they asked for; the missing event is the smaller loss.
    session.catalog.withdraw(id)?;
    let events = session
        .vault
        .append(vec![record_event(RecordChange::Withdrawn, &digest)])
        .context("logging the withdrawal")?;
    athar_catalog::Catalog::apply(&mut session.catalog, &events)?;
    eprintln!("withdrew record {id}: its data, photos and contact are erased");
    Ok(ExitCode::SUCCESS)
}

/// A reason in English for the terminal (the portal translates the same codes with Fluent).
pub fn describe(r: &Reason) -> String {
    let a = |k: &str| r.detail.args.get(k).map(String::as_str).unwrap_or("?");
    match r.detail.code.as_str() {
        "branch-match" => format!("branch {} as the family believes", a("branch")),
        "branch-differs" => format!("branch {}, the family believes {}", a("case"), a("record")),
        "documented-after-arrest" => format!(
            "documented {} days after the arrest ({} → {})",
            a("days"),
            a("arrest"),
            a("documented")
        ),
        "documented-before-arrest" => format!(
            "documented {} before the arrest on {}",
            a("documented"),
            a("arrest")
        ),
        "sex-match" => format!("sex {}", a("sex")),
        "sex-differs" => format!("sex {}, the record says {}", a("case"), a("record")),
        "age-in-range" => format!(
            "age about {} within the estimate {}-{}",
            a("age"),
            a("min"),
            a("max")
        ),
        "age-near-range" => format!(
            "age about {} near the estimate {}-{}",
            a("age"),
            a("min"),
            a("max")
        ),
        "age-outside-range" => format!(
            "age about {} outside the estimate {}-{}",
            a("age"),
            a("min"),
            a("max")
        ),
        "mark-match" => format!("mark «{}» ~ «{}»", a("record"), a("case")),
        "marks-differ" => "none of the marks described was observed".into(),
        "number-match" => format!("{} number {} known to the family", a("field"), a("number")),
        other => format!("{other} {:?}", r.detail.args),
    }
}

pub fn run_match(
    root: &Path,
    id: &str,
    limit: usize,
    json_out: bool,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    let Some(r) = session.catalog.record(id)? else {
        bail!("no missing-person record {id:?}; `athar record list VAULT` shows the records");
    };
    let ranked: Vec<Candidate> = matching::rank(&session.catalog, &r, limit)?;
    if json_out {
        output::json(&json!({ "record": r.id, "candidates": ranked }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("record {} — {}", r.id, display_name(&r));
    if ranked.is_empty() {
        println!("no case fits this record (no case scores above zero)");
        return Ok(ExitCode::SUCCESS);
    }
    for (i, c) in ranked.iter().enumerate() {
        let case = session.catalog.case(&c.case_id)?;
        let documented = case
            .as_ref()
            .and_then(|k| k.first_taken.as_deref())
            .map(|t| &t[..10.min(t.len())])
            .unwrap_or("-")
            .to_string();
        println!(
            "{:>3}. case {:<16} score {:>5.1}   documented {documented}",
            i + 1,
            c.case_id,
            c.score
        );
        for reason in &c.reasons {
            println!("       {:+5.1}  {}", reason.weight, describe(reason));
        }
    }
    Ok(ExitCode::SUCCESS)
}
