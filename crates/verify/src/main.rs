//! `athar-verify PACKAGE [--checkpoint FILE] [--key KEY] [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "athar-verify: check an athar evidence package offline.

usage: athar-verify PACKAGE [--checkpoint FILE] [--key KEY] [--json]

  PACKAGE            the package directory (a BagIt bag; for a split package, one bag)
  --checkpoint FILE  a checkpoint the archive published earlier: check that the package's
                     log extends it (the log only grew)
  --key KEY          the archive's log key (NAME+HASH+KEY) as you obtained it from the
                     archive: check that the package was signed with it
  --json             print the findings as JSON

Checks the bag (bagit.txt, manifests, Payload-Oxum, no missing or extra files), every hash,
every signature (the tag manifest's, the checkpoint's, every custody event's) and every
Merkle inclusion proof. Prints a verdict in English and Arabic.
Exit status: 0 when everything holds, 1 when anything fails, 2 for a usage error.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut opts = athar_verify::Options::default();
    let mut json = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--json" => json = true,
            "--checkpoint" | "--key" => {
                let Some(v) = args.next() else {
                    return usage(&format!("{a} needs a value"));
                };
                if a == "--key" {
                    opts.key = Some(v);
                } else {
                    opts.published_checkpoint = Some(PathBuf::from(v));
                }
            }
            _ if a.starts_with('-') => return usage(&format!("unknown option {a}")),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => return usage("give one package directory"),
        }
    }
    let Some(dir) = dir else {
        return usage("give the package directory");
    };
    if !dir.is_dir() {
        return usage(&format!("{} is not a directory", dir.display()));
    }
    let report = athar_verify::verify(&dir, &opts);
    if json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| serde_json::json!({"part": f.part, "file": f.file, "problem": f.problem}))
            .collect();
        let s = &report.summary;
        let out = serde_json::json!({
            "ok": report.ok(),
            "package": s.package,
            "originals": s.originals,
            "derivatives": s.derivatives,
            "events": s.events,
            "archive_key": s.archive_key,
            "checkpoint_size": s.checkpoint_size,
            "checkpoint_root": s.checkpoint_root,
            "published_checkpoint_size": s.published_size,
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        print!("{}", athar_verify::verdict(&report));
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("athar-verify: {msg}\n\n{HELP}");
    ExitCode::from(2)
}
