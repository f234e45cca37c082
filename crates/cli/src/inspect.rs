//! Reading the vault: `log`, `show`, `cat`, `keys`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;

use athar_catalog::{Catalog, EventFilter, EventRow};
use athar_vault::{parse_sha256, Access};

use crate::output::{self, time_bound};
use crate::session::Session;
use crate::PassArgs;

#[allow(clippy::too_many_arguments)]
pub fn log(
    root: &Path,
    object: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u64>,
    json_out: bool,
    pass: &PassArgs,
) -> Result<ExitCode> {
    if let Some(o) = &object {
        parse_sha256(o)?;
    }
    let filter = EventFilter {
        object: object.map(|o| o.to_lowercase()),
        kind,
        since: since.as_deref().map(|s| time_bound(s, false)).transpose()?,
        until: until.as_deref().map(|s| time_bound(s, true)).transpose()?,
        limit,
    };
    let session = Session::open(root, pass, Access::Read)?;
    let events = session.catalog.events(&filter)?;
    if json_out {
        output::json(&events);
    } else {
        for e in &events {
            println!("{}", event_line(e));
        }
        if events.is_empty() {
            eprintln!("no events match");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn event_line(e: &EventRow) -> String {
    let what = e
        .details
        .get("source_path")
        .and_then(|v| v.as_str())
        .map(|p| format!("  {p}"))
        .unwrap_or_default();
    let objects = if e.objects.is_empty() {
        String::new()
    } else {
        format!("  {}", e.objects.join(","))
    };
    format!("{:>7}  {}  {:<22}{objects}{what}", e.seq, e.time, e.kind)
}

pub fn show(root: &Path, sha256: &str, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    parse_sha256(sha256)?;
    let sha = sha256.to_lowercase();
    let session = Session::open(root, pass, Access::Read)?;
    let Some(object) = session.catalog.object(&sha)? else {
        bail!("no object with SHA-256 {sha} in this vault");
    };
    let sightings = session.catalog.sightings(&sha)?;
    let history = session.catalog.events(&EventFilter {
        object: Some(sha.clone()),
        ..Default::default()
    })?;
    if json_out {
        output::json(&json!({"object": object, "sightings": sightings, "events": history}));
        return Ok(ExitCode::SUCCESS);
    }
    println!("object      {}", object.sha256);
    println!(
        "size        {} ({} bytes)",
        output::bytes(object.size),
        object.size
    );
    println!("media type  {}", object.media_type);
    println!(
        "first held  {} (event {})",
        object.first_time, object.first_seq
    );
    println!("seen at");
    for s in &sightings {
        println!(
            "  {}  {}  (event {})",
            s.mtime.as_deref().unwrap_or("-"),
            s.source_path,
            s.seq
        );
    }
    println!("history");
    for e in &history {
        println!("  {}", event_line(e));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cat(root: &Path, sha256: &str, pass: &PassArgs) -> Result<ExitCode> {
    parse_sha256(sha256)?;
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        bail!("refusing to write an object to the terminal; redirect it: athar cat VAULT SHA256 > FILE");
    }
    let session = Session::open(root, pass, Access::Read)?;
    let mut reader = session.vault.open_object(&sha256.to_lowercase())?;
    std::io::copy(&mut reader, &mut stdout).context("writing the object to standard output")?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn keys(root: &Path, json_out: bool) -> Result<ExitCode> {
    let c = athar_vault::vault::read_config(root)?;
    if json_out {
        output::json(&json!({
            "custodian": c.custodian,
            "origin": c.origin,
            "recipient": c.recipient,
            "signing_key": c.verifier_key,
        }));
    } else {
        println!("custodian    {}", c.custodian);
        println!("origin       {}", c.origin);
        println!("age recipient {}", c.recipient);
        println!("signing key  {}", c.verifier_key);
    }
    Ok(ExitCode::SUCCESS)
}
