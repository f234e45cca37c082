//! Opening a vault with its catalogue, caught up with the log.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use athar_catalog::{catch_up, Catalog, Location, SqlCatalog, CATALOG_FILE};
use athar_vault::{Access, InitOptions, Vault};

use crate::{passphrase, PassArgs};

pub struct Session {
    pub vault: Vault,
    pub catalog: SqlCatalog,
}

/// Open (creating if needed) a vault's catalogue, without catching it up.
pub fn open_catalog(vault: &Vault) -> Result<SqlCatalog> {
    let location = Location::of_vault(vault);
    SqlCatalog::open(&location, &vault.catalog_key()).with_context(|| match &location {
        Location::Sqlite(p) => format!("opening the catalogue {}", p.display()),
        Location::Postgres { url, .. } => format!("opening the catalogue in PostgreSQL at {url}"),
    })
}

impl Session {
    pub fn open(root: &Path, pass: &PassArgs, access: Access) -> Result<Session> {
        let passphrase = passphrase::get(pass)?;
        Self::open_with(root, &passphrase, access)
    }

    pub fn open_with(
        root: &Path,
        passphrase: &athar_vault::SecretString,
        access: Access,
    ) -> Result<Session> {
        let vault = Vault::open(root, passphrase, access)
            .with_context(|| format!("opening the vault {}", root.display()))?;
        let mut catalog = open_catalog(&vault)?;
        catch_up(&mut catalog, &vault)?;
        Ok(Session { vault, catalog })
    }
}

/// What `athar init` was asked for.
pub struct InitArgs {
    pub name: String,
    pub origin: Option<String>,
    pub scrypt_log_n: u8,
    pub objects: Option<String>,
    pub catalog: Option<String>,
}

pub fn init(root: &Path, args: InitArgs, pass: &PassArgs) -> Result<ExitCode> {
    if let Some(url) = &args.catalog {
        athar_vault::vault::check_catalog_url(url)?;
        // Before anything is created: an unreachable or already used database stops here.
        let existing = SqlCatalog::connect_postgres(url)
            .with_context(|| format!("connecting to PostgreSQL at {url}"))?;
        if existing.last_seq()? > 0 {
            anyhow::bail!(
                "the PostgreSQL database at {url} already holds a vault's catalogue; \
                 give each vault a database of its own (createdb NAME)"
            );
        }
    }
    let passphrase = passphrase::new(pass)?;
    let opts = InitOptions {
        custodian: args.name,
        origin: args.origin,
        scrypt_log_n: args.scrypt_log_n,
        objects: args.objects,
        catalog: args.catalog,
    };
    let vault = Vault::init(root, &passphrase, &opts)?;
    open_catalog(&vault)?;
    let c = vault.config();
    println!("created vault {}", root.display());
    println!("  custodian   {}", c.custodian);
    println!("  origin      {}", c.origin);
    println!("  recipient   {}", c.recipient);
    println!("  signing key {}", c.verifier_key);
    if let Some(objects) = &c.objects {
        println!("  objects     {objects}");
    }
    if let Some(catalog) = &c.catalog {
        println!("  catalogue   {catalog}");
    }
    println!("Keep the passphrase safe: without it nothing in the vault can be read.");
    Ok(ExitCode::SUCCESS)
}

pub fn rebuild(root: &Path, pass: &PassArgs) -> Result<ExitCode> {
    let passphrase = passphrase::get(pass)?;
    let vault = Vault::open(root, &passphrase, Access::Write)?;
    let catalog = athar_catalog::rebuild(&vault, &Location::of_vault(&vault))?;
    let (objects, bytes) = athar_catalog::Catalog::totals(&catalog)?;
    let records = athar_catalog::Records::all_records(&catalog)?.len();
    let aside = root.join(format!("{CATALOG_FILE}.unreadable"));
    if aside.exists() {
        eprintln!(
            "athar: the old catalogue could not be read, so no missing-person records were carried \
             over from it; it is kept as {} (open it with the vault key to recover them)",
            aside.display()
        );
    }
    println!(
        "rebuilt the catalogue from {} events: {} objects, {}; kept {} missing-person records",
        vault.tail().size,
        objects,
        crate::output::bytes(bytes),
        records
    );
    Ok(ExitCode::SUCCESS)
}

pub fn dump(root: &Path, pass: &PassArgs) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    print!("{}", athar_catalog::Catalog::dump(&session.catalog)?);
    Ok(ExitCode::SUCCESS)
}
