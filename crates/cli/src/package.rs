//! `athar package`: a court evidence package (BagIt bag) for some cases.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use athar_package::Options;
use athar_vault::Access;

use crate::session::Session;
use crate::{output, PassArgs};

#[derive(Args)]
pub struct PackageArgs {
    vault: PathBuf,
    /// A case to include (repeat, or list several): `athar cases VAULT` lists them.
    #[arg(long = "case", value_name = "ID", required = true, num_args = 1..)]
    cases: Vec<String>,
    /// The new package directory (must be absent or empty).
    #[arg(long)]
    out: PathBuf,
    /// Also include each original's thumbnail and blurred previews.
    #[arg(long)]
    derivatives: bool,
    /// Split the payload into bags of at most this size, one per drive (e.g. 4000M, 16G);
    /// the bags share a Bag-Group-Identifier and say "Bag-Count: n of N".
    #[arg(long, value_parser = crate::route::parse_size, value_name = "SIZE")]
    split_size: Option<u64>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pass: PassArgs,
}

struct Bar(indicatif::ProgressBar);

impl athar_package::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

pub fn run(a: PackageArgs) -> Result<ExitCode> {
    let mut session = Session::open(&a.vault, &a.pass, Access::Write)?;
    let opts = Options {
        cases: a
            .cases
            .iter()
            .map(|c| crate::cases::ascii_digits(c))
            .collect(),
        derivatives: a.derivatives,
        split_size: a.split_size,
    };
    let bar = crate::output::byte_bar(!a.json, "packaging");
    let summary = write(&mut session, &opts, &a.out, &Bar(bar.clone()));
    bar.finish_and_clear();
    let summary = summary?;
    if a.json {
        output::json(&summary);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Package through an open session (also used by the demo).
pub fn write(
    session: &mut Session,
    opts: &Options,
    out: &Path,
    progress: &dyn athar_package::Progress,
) -> Result<athar_package::Summary> {
    athar_package::write(&mut session.vault, &session.catalog, opts, out, progress)
        .with_context(|| format!("writing the evidence package {}", out.display()))
}

pub fn print_summary(s: &athar_package::Summary) {
    println!("package {} in {}", s.package, s.out.display());
    println!(
        "  {} case(s): {} original(s), {} derivative(s), {} custody event(s) with inclusion proofs",
        s.cases.len(),
        s.originals,
        s.derivatives,
        s.events
    );
    println!(
        "  checkpoint at log size {}; {} consistency proof(s) from earlier checkpoints",
        s.checkpoint_size, s.consistency_proofs,
    );
    if s.authenticity_report {
        println!(
            "  authenticity report included (analysis took {:.1} s)",
            s.authenticity_seconds
        );
    }
    for b in &s.bags {
        println!(
            "  bag {}: {} ({} files, {})",
            b.bag_count,
            b.path.display(),
            b.items,
            output::bytes(b.payload_bytes)
        );
    }
    println!("  logged as event {} (dissemination)", s.dissemination_seq);
    println!(
        "Check it offline: athar-verify {}",
        s.bags
            .first()
            .map(|b| b.path.display().to_string())
            .unwrap_or_default()
    );
}
