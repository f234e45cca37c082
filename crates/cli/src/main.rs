//! `athar`: keep photographic evidence safe from the first copy to the courtroom.

mod analyze;
mod authenticity;
mod cases;
mod demo;
mod ingest;
mod inspect;
mod matching;
mod output;
mod package;
mod passphrase;
mod proofs;
mod route;
mod serve;
mod session;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "athar",
    version,
    about = "Keep photographic evidence safe from the first copy to the courtroom",
    long_about = "athar keeps evidence photos in an encrypted vault with a signed, tamper-evident \
custody log. Every command that opens a vault asks for its passphrase, or reads it from the file \
named by --passphrase-file or ATHAR_PASSPHRASE_FILE."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How to get the vault's passphrase without a prompt.
#[derive(Args, Clone, Debug)]
pub struct PassArgs {
    /// Read the passphrase from the first line of this file instead of prompting.
    #[arg(
        long,
        env = "ATHAR_PASSPHRASE_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new vault: keys (under a passphrase), object store, custody log, catalogue.
    Init {
        /// Directory for the new vault; must be absent or empty.
        vault: PathBuf,
        /// The custodian's name, recorded in every event this vault signs.
        #[arg(long, default_value = "archive")]
        name: String,
        /// The log's origin line in checkpoints (a schema-less URL naming this archive).
        #[arg(long)]
        origin: Option<String>,
        /// scrypt work factor for the passphrase (log2 N). Lower only for tests.
        #[arg(long, default_value_t = athar_vault::keys::DEFAULT_SCRYPT_LOG_N, hide = true)]
        scrypt_log_n: u8,
        /// Keep the objects and the custody log in an S3-compatible bucket
        /// (`s3://BUCKET/PREFIX`) instead of the vault directory, which then holds only the
        /// configuration and keys. Credentials come from AWS_ACCESS_KEY_ID and
        /// AWS_SECRET_ACCESS_KEY (or AWS_SHARED_CREDENTIALS_FILE / ~/.aws/credentials), the
        /// server from AWS_ENDPOINT_URL, never from the command line.
        #[arg(long, value_name = "s3://BUCKET/PREFIX")]
        objects: Option<String>,
        /// Keep the catalogue in PostgreSQL (`postgres://USER@HOST:PORT/DATABASE`) instead of
        /// the vault directory; several machines and `athar serve` processes can then share
        /// it. The password comes from PGPASSWORD or ~/.pgpass, never from the command line.
        #[arg(long, value_name = "postgres://USER@HOST/DB")]
        catalog: Option<String>,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Store files and folders: hash, encrypt, and log a signed "ingestion" event for each.
    ///
    /// Walks each PATH (symbolic links are reported, not followed). Files already in the vault
    /// are not stored twice; seeing one at a new path records a new event. An interrupted run
    /// is finished by running the same command again. Exits with status 3 if any file was
    /// rejected (the summary says which and why).
    Ingest {
        vault: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Worker threads for hashing and encryption (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Skip image analysis after ingesting (run `athar analyze` later).
        #[arg(long)]
        no_analyze: bool,
        /// Files per logged batch (tests use small batches to crash between them).
        #[arg(long, default_value_t = ingest::BATCH_FILES, hide = true)]
        batch_files: usize,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// List custody events, oldest first.
    Log {
        vault: PathBuf,
        /// Only events about this object (SHA-256).
        #[arg(long)]
        object: Option<String>,
        /// Only events of this type, e.g. "ingestion" or "fixity check".
        #[arg(long = "type")]
        kind: Option<String>,
        /// Only events at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Only events at or before this time (RFC 3339 or YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Show an object's metadata and custody history.
    Show {
        vault: PathBuf,
        sha256: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Write an object's original bytes to standard output (redirect it to a file).
    Cat {
        vault: PathBuf,
        sha256: String,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Sign the log's current tree head as a C2SP checkpoint and print it, ready to publish.
    Checkpoint {
        vault: PathBuf,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Print a proof: an object's ingestion event is in the log (C2SP tlog-proof), or, with
    /// --consistency, the log has only grown since an older checkpoint.
    Prove {
        vault: PathBuf,
        /// The object whose first ingestion event to prove.
        #[arg(
            required_unless_present = "consistency",
            conflicts_with = "consistency"
        )]
        sha256: Option<String>,
        /// An older checkpoint of this vault (a file holding the signed note).
        #[arg(long, value_name = "OLD_CHECKPOINT_FILE")]
        consistency: Option<PathBuf>,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Re-read everything: decrypt and re-hash objects, check every signature, recompute the
    /// Merkle tree and every checkpoint. Reports every problem; exits non-zero if any.
    Verify {
        vault: PathBuf,
        /// Check only this percentage of objects, chosen at random (quick fixity check).
        #[arg(long, value_name = "PERCENT")]
        sample: Option<f64>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Catalogue maintenance.
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Print the vault's public keys: its age recipient and its signing key.
    Keys {
        vault: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Source profiles (`init`, `show`) and the sources a vault trusts (`trust`, `list`).
    Source {
        #[command(subcommand)]
        action: route::SourceAction,
    },
    /// Pack files into an encrypted, signed bundle on a flash drive, with parity. The source
    /// keeps no readable record of what it packed and cannot decrypt it.
    Pack(route::PackArgs),
    /// The courier's check: verify every part and the signature, repair from parity, copy
    /// the bundle into --store. Needs no key; decrypts nothing. Exit status 2 if any bundle
    /// is refused.
    Receive(route::ReceiveArgs),
    /// Import bundles into the vault: verify, decrypt, store, and log the source's events and
    /// a "transfer" event. Importing the same bundle twice changes nothing.
    Import(route::ImportArgs),
    /// Export what the vault logged since a checkpoint as a bundle for a partner archive.
    Export(route::ExportArgs),
    /// Authenticity analysis: per camera, file order against DateTimeOriginal, JPEG
    /// quantization tables and size against the camera model, editing software, embedded
    /// thumbnails, dates outside the plausible range; sensor fingerprints (PRNU) with
    /// attribution by PCE and clustering of photos without EXIF; duplicates across cases and
    /// copies with different EXIF.
    ///
    /// Writes report.html (English), report.ar.html (Arabic) and report.json into --out, with
    /// the method and every parameter, so another examiner can reproduce the figures.
    /// Fingerprints are always estimated from the whole collection, also for one case.
    Authenticity(authenticity::AuthenticityArgs),
    /// Analyse every image not yet analysed: EXIF, perceptual hashes (PDQ, pHash), numbers
    /// from names or the card, thumbnail and blurred previews; then group photos into cases.
    ///
    /// Runs after every ingest too. Resumable: an interrupted run continues where it stopped.
    Analyze {
        vault: PathBuf,
        /// Number patterns (TOML, see docs/formats/media.md) for this run. Saved as
        /// VAULT/patterns.toml they apply to every analysis, also after ingest and import.
        #[arg(long, value_name = "FILE")]
        patterns: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// List cases (one per body), oldest first.
    Cases {
        vault: PathBuf,
        /// Only this branch (e.g. 215, or AFI for Air Force Intelligence).
        #[arg(long)]
        branch: Option<String>,
        /// Only cases documented on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only cases documented on or before this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        hospital: Option<String>,
        /// unidentified, proposed, candidate, identified or "family informed".
        #[arg(long)]
        status: Option<String>,
        /// A detainee or forensic report number (Arabic-Indic digits accepted).
        #[arg(long)]
        number: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Show one case and its photos.
    Case {
        vault: PathBuf,
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Is this picture from the archive, and is it altered? Finds the originals of copies
    /// (resized, re-encoded, cropped, captioned, mirrored) by perceptual hash.
    Similar {
        vault: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// How many matches to show per image.
        #[arg(long, default_value_t = 5)]
        top: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Counts by branch, hospital, month, camera and photos per case.
    Stats {
        vault: PathBuf,
        /// Also write stats.json, CSV tables and an SVG chart of cases per month into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Serve the families' and investigators' web portal on a vault.
    ///
    /// The vault's writer lock is taken only while an event is appended, so `ingest` can run
    /// meanwhile. With no administrator yet, prints a one-time link to create one.
    Serve {
        vault: PathBuf,
        /// Address and port to listen on. Put a TLS-terminating proxy in front for anything
        /// but localhost: session cookies are Secure.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
        /// Database connections per pool (parallel readers).
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Missing-person records from families: add, list, withdraw.
    Record {
        #[command(subcommand)]
        action: matching::RecordAction,
    },
    /// Rank the cases that might be the person of a missing-person record, with reasons
    /// (branch, dates, sex, age, distinguishing marks, known numbers).
    Match {
        vault: PathBuf,
        /// The record's id (`athar record list VAULT` shows them).
        record: String,
        /// How many candidates to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Write a court evidence package: a BagIt bag of the cases' originals with their signed
    /// custody events, Merkle proofs, a signed checkpoint, the archive's keys, the authenticity
    /// report and an index page in Arabic and English. `athar-verify PACKAGE` checks it offline.
    Package(package::PackageArgs),
    /// Generate a synthetic collection and run the whole pipeline on it.
    Demo {
        /// Where to put the demo (default: a new directory under the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Bodies in the generated collection.
        #[arg(long, default_value_t = 60)]
        bodies: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Set up the portal's demo accounts but do not start the portal.
        #[arg(long)]
        no_serve: bool,
        /// Where the portal listens.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
    },
    /// Write the synthetic (never graphic) test collection into DIR.
    DemoCorpus {
        dir: PathBuf,
        #[arg(long, default_value_t = 50)]
        bodies: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Image width and height in pixels.
        #[arg(long, default_value_t = 1600)]
        width: u32,
        #[arg(long, default_value_t = 1200)]
        height: u32,
    },
}

#[derive(Subcommand)]
enum CatalogAction {
    /// Recreate the catalogue from the custody log alone.
    Rebuild {
        vault: PathBuf,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Print the catalogue's whole content in a canonical text form (to compare two).
    Dump {
        vault: PathBuf,
        #[command(flatten)]
        pass: PassArgs,
    },
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`athar log VAULT | head`) instead of panicking on a broken pipe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("athar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init {
            vault,
            name,
            origin,
            scrypt_log_n,
            objects,
            catalog,
            pass,
        } => session::init(
            &vault,
            session::InitArgs {
                name,
                origin,
                scrypt_log_n,
                objects,
                catalog,
            },
            &pass,
        ),
        Command::Ingest {
            vault,
            paths,
            json,
            threads,
            batch_files,
            no_analyze,
            pass,
        } => ingest::run(
            &vault,
            &paths,
            json,
            ingest::Options {
                threads,
                batch_files,
                analyze: !no_analyze,
            },
            &pass,
        ),
        Command::Log {
            vault,
            object,
            kind,
            since,
            until,
            limit,
            json,
            pass,
        } => inspect::log(&vault, object, kind, since, until, limit, json, &pass),
        Command::Show {
            vault,
            sha256,
            json,
            pass,
        } => inspect::show(&vault, &sha256, json, &pass),
        Command::Cat {
            vault,
            sha256,
            pass,
        } => inspect::cat(&vault, &sha256, &pass),
        Command::Checkpoint { vault, pass } => proofs::checkpoint(&vault, &pass),
        Command::Prove {
            vault,
            sha256,
            consistency,
            pass,
        } => proofs::prove(&vault, sha256.as_deref(), consistency.as_deref(), &pass),
        Command::Verify {
            vault,
            sample,
            json,
            pass,
        } => verify::run(&vault, sample, json, &pass),
        Command::Catalog {
            action: CatalogAction::Rebuild { vault, pass },
        } => session::rebuild(&vault, &pass),
        Command::Catalog {
            action: CatalogAction::Dump { vault, pass },
        } => session::dump(&vault, &pass),
        Command::Analyze {
            vault,
            patterns,
            json,
            threads,
            pass,
        } => analyze::run(&vault, patterns.as_deref(), json, threads, &pass),
        Command::Cases {
            vault,
            branch,
            from,
            to,
            hospital,
            status,
            number,
            limit,
            json,
            pass,
        } => cases::list(
            &vault,
            athar_catalog::CaseFilter {
                branch,
                hospital,
                status,
                number,
                from,
                to,
                limit,
            },
            json,
            &pass,
        ),
        Command::Case {
            vault,
            id,
            json,
            pass,
        } => cases::show(&vault, &id, json, &pass),
        Command::Similar {
            vault,
            images,
            top,
            json,
            pass,
        } => cases::similar(&vault, &images, top, json, &pass),
        Command::Stats {
            vault,
            out,
            json,
            pass,
        } => cases::stats(&vault, out.as_deref(), json, &pass),
        Command::Keys { vault, json } => inspect::keys(&vault, json),
        Command::Source { action } => route::source(action),
        Command::Pack(args) => route::pack(args),
        Command::Receive(args) => route::receive(args),
        Command::Import(args) => route::import(args),
        Command::Export(args) => route::export(args),
        Command::Serve {
            vault,
            listen,
            connections,
            pass,
        } => serve::run(&vault, &listen, connections, &pass),
        Command::Demo {
            dir,
            bodies,
            seed,
            no_serve,
            listen,
        } => demo::run(dir, bodies, seed, (!no_serve).then_some(listen)),
        Command::Record { action } => matching::record(action),
        Command::Match {
            vault,
            record,
            limit,
            json,
            pass,
        } => matching::run_match(&vault, &record, limit, json, &pass),
        Command::Package(args) => package::run(args),
        Command::Authenticity(args) => authenticity::run(args),
        Command::DemoCorpus {
            dir,
            bodies,
            seed,
            width,
            height,
        } => demo::corpus(&dir, bodies, seed, width, height),
    }
}
