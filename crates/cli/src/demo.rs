//! `athar demo` and `athar demo-corpus`: the whole pipeline on a synthetic collection.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use athar_vault::verify::{verify, VerifyOptions};
use athar_vault::{Access, InitOptions, SecretString, Vault};

use crate::output;
use crate::session::Session;

const DEMO_PASSPHRASE: &str = "demo passphrase: not for real evidence";

pub fn corpus(dir: &Path, bodies: usize, seed: u64, width: u32, height: u32) -> Result<ExitCode> {
    let summary = generate(dir, bodies, seed, width, height)?;
    println!(
        "wrote {} photos ({} of {} bodies, {} distractors, {}) to {}",
        summary.photos,
        summary.body_photos,
        summary.bodies,
        summary.distractors,
        output::bytes(summary.bytes),
        dir.display()
    );
    println!("ground truth: {}", summary.ground_truth.display());
    Ok(ExitCode::SUCCESS)
}

fn generate(
    dir: &Path,
    bodies: usize,
    seed: u64,
    width: u32,
    height: u32,
) -> Result<athar_corpus::CorpusSummary> {
    let opts = athar_corpus::CorpusOptions {
        bodies,
        seed,
        width,
        height,
        ..Default::default()
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("generating photos [{bar:30}] {pos}/{len}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let summary = athar_corpus::generate(dir, &opts, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("generating the synthetic collection in {}", dir.display()))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn run(
    dir: Option<PathBuf>,
    bodies: usize,
    seed: u64,
    serve: Option<String>,
) -> Result<ExitCode> {
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("athar-demo-{}", std::process::id())),
    };
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("{} is not empty; give --dir a new directory", dir.display());
    }
    std::fs::create_dir_all(&dir)?;
    let corpus_dir = dir.join("collection");
    let vault_dir = dir.join("vault");
    let pass_file = dir.join("passphrase.txt");

    println!("athar demo in {}", dir.display());
    println!("1. generating a synthetic collection (abstract scenes, never graphic)");
    let summary = generate(&corpus_dir, bodies, seed, 1600, 1200)?;
    println!(
        "   {} photos: {} of {} bodies, {} distractors, {}",
        summary.photos,
        summary.body_photos,
        summary.bodies,
        summary.distractors,
        output::bytes(summary.bytes)
    );

    println!(
        "2. creating a vault (passphrase in {})",
        pass_file.display()
    );
    std::fs::write(&pass_file, format!("{DEMO_PASSPHRASE}\n"))?;
    let passphrase = SecretString::from(DEMO_PASSPHRASE.to_string());
    let vault = Vault::init(
        &vault_dir,
        &passphrase,
        &InitOptions {
            custodian: "demo archive".into(),
            ..Default::default()
        },
    )?;
    drop(vault);

    println!("3. the flash-drive route: pack at the source, carry, import at the archive");
    let mut session = Session::open_with(&vault_dir, &passphrase, Access::Write)?;
    // The photo folders only: the ground truth beside them is not evidence.
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&corpus_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let route = crate::route::demo_route(&mut session, &folders, &dir)?;
    for line in &route.lines {
        println!("   {line}");
    }

    println!("4. analysing: EXIF, perceptual hashes, numbers, thumbnails and blurred previews");
    let started = std::time::Instant::now();
    let analysed = crate::analyze::analyze(&mut session, None, true)?;
    println!(
        "   {} photos in {:.1} s, {} derivatives; {} cases by their numbers, {} groups proposed for review",
        analysed.analysed,
        started.elapsed().as_secs_f64(),
        analysed.derivatives,
        analysed.cases_numbered,
        analysed.cases_proposed
    );
    let (observed, records) = seed_families(&mut session, &summary.ground_truth)?;
    println!(
        "   seeded {observed} case observations (as an examiner would record them) and {records} family records"
    );
    let stats = athar_catalog::Photos::stats(&session.catalog)?;
    let stats_dir = dir.join("stats");
    crate::cases::write_stats(&stats_dir, &stats)?;
    println!("   cases by branch:");
    for (branch, n) in &stats.cases_by_branch {
        println!("     {branch:<6} {n:>5}");
    }
    println!(
        "   chart of cases per month by branch: {}",
        stats_dir.join("cases-per-month.svg").display()
    );

    println!("5. verifying every object, signature and the Merkle tree");
    let report = verify(&session.vault, &VerifyOptions::default(), &())?;
    println!(
        "   {} objects re-hashed, {} events checked: {}",
        report.objects_checked,
        report.events,
        if report.ok() {
            "no problems"
        } else {
            "PROBLEMS FOUND"
        }
    );

    println!("6. signing a checkpoint");
    let note = session.vault.checkpoint()?;
    for line in note.lines() {
        println!("   {line}");
    }

    println!("7. an evidence package for one case, checked by athar-verify");
    let published = dir.join("published-checkpoint.txt");
    std::fs::write(&published, &note)?;
    let verified = package_and_verify(&mut session, &dir, &published)?;

    println!();
    println!("Try:");
    let p = format!("ATHAR_PASSPHRASE_FILE={}", pass_file.display());
    println!("  {p} athar log {} --limit 5", vault_dir.display());
    println!(
        "  athar receive {} --check                   # what the courier runs",
        route.drive.display()
    );
    println!("  {p} athar cases {} --branch 215", vault_dir.display());
    println!("  {p} athar stats {}", vault_dir.display());
    println!("  {p} athar verify {}", vault_dir.display());
    println!("  {p} athar checkpoint {}", vault_dir.display());
    println!("  ground truth: {}", summary.ground_truth.display());
    drop(session);
    let ok = report.ok() && verified;
    portal(&vault_dir, &passphrase, serve)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Step 8: the portal, with one demo account per role.
fn portal(vault: &Path, passphrase: &SecretString, listen: Option<String>) -> Result<()> {
    println!();
    println!("8. the families' and investigators' portal");
    let app = crate::serve::open(vault, passphrase, 4)?;
    athar_portal::admin::demo_accounts(&app)?;
    for (role, email, _, password) in athar_portal::admin::DEMO_ACCOUNTS {
        println!("   {:<13} {email:<26} password: {password}", role.as_str());
    }
    let Some(listen) = listen else {
        println!(
            "   start it with: ATHAR_PASSPHRASE_FILE={} athar serve {}",
            vault
                .parent()
                .unwrap_or(vault)
                .join("passphrase.txt")
                .display(),
            vault.display()
        );
        return Ok(());
    };
    crate::serve::serve(app, &listen, |addr| {
        println!(
            "   open http://localhost:{}/ and sign in with an account above (Ctrl-C to stop)",
            addr.port()
        );
    })?;
    Ok(())
}

/// Package the first case and check it with the verifier's library: the same code as the
/// `athar-verify` binary, called in-process because `cargo run -- demo` builds only `athar`.
/// The checkpoint of step 6 stands for one the archive published: the verifier checks that
/// the package's log extends it.
fn package_and_verify(session: &mut Session, dir: &Path, published: &Path) -> Result<bool> {
    let Some(case) = athar_catalog::Photos::cases(&session.catalog, &Default::default())?
        .into_iter()
        .next()
    else {
        println!("   no case to package");
        return Ok(true);
    };
    let out = dir.join("package");
    let opts = athar_package::Options {
        cases: vec![case.id.clone()],
        derivatives: true,
        split_size: None,
    };
    let summary = crate::package::write(session, &opts, &out, &())?;
    println!(
        "   case {}: {} originals, {} derivatives, {} signed events with proofs in {}",
        case.id,
        summary.originals,
        summary.derivatives,
        summary.events,
        out.display()
    );
    let report = athar_verify::verify(
        &out,
        &athar_verify::Options {
            published_checkpoint: Some(published.to_path_buf()),
            key: None,
        },
    );
    for line in athar_verify::verdict(&report).lines() {
        println!("   {line}");
    }
    println!(
        "   the same check by hand: cargo run -p athar-verify -- {} --checkpoint {}",
        out.display(),
        published.display()
    );
    Ok(report.ok())
}

/// Observations for the numbered cases and a few families' records, from the collection's
/// ground truth, so that the portal and `athar match` have something to rank. Each goes
/// through the same signed events as an investigator's edit or a family's submission.
fn seed_families(session: &mut Session, ground_truth: &Path) -> Result<(usize, usize)> {
    use athar_catalog::records::{RecordChange, RECORD_DIGEST_KEY};
    use athar_catalog::{record_digest, record_event, Catalog, Records};
    let (observations, records) = athar_catalog::matching::eval::demo_seed(ground_truth)?;
    let observed = observations.len();
    let events = session.vault.append(observations)?;
    session.catalog.apply(&events)?;
    let key = session.vault.secrets().subkey(RECORD_DIGEST_KEY);
    let mut drafts = Vec::new();
    for r in &records {
        session.catalog.put_record(r)?;
        drafts.push(record_event(
            RecordChange::Submitted,
            &record_digest(&key, r),
        ));
    }
    let events = session.vault.append(drafts)?;
    session.catalog.apply(&events)?;
    Ok((observed, records.len()))
}
