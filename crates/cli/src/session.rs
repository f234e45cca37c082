//! Opening a vault with its catalogue, caught up with the log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use athar_catalog::{catch_up, SqlCatalog};
use athar_vault::{Access, InitOptions, Vault};

use crate::{passphrase, PassArgs};

pub const CATALOG_FILE: &str = "catalog.db";

pub struct Session {
    pub vault: Vault,
    pub catalog: SqlCatalog,
}

pub fn catalog_path(vault: &Path) -> PathBuf {
    vault.join(CATALOG_FILE)
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
        let mut catalog = SqlCatalog::open_sqlite(&catalog_path(root), &vault.catalog_key())?;
        catch_up(&mut catalog, &vault)?;
        Ok(Session { vault, catalog })
    }
}

pub fn init(
    root: &Path,
    name: String,
    origin: Option<String>,
    scrypt_log_n: u8,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let passphrase = passphrase::new(pass)?;
    let opts = InitOptions {
        custodian: name,
        origin,
        scrypt_log_n,
    };
    let vault = Vault::init(root, &passphrase, &opts)?;
    SqlCatalog::open_sqlite(&catalog_path(root), &vault.catalog_key())?;
    let c = vault.config();
    println!("created vault {}", root.display());
    println!("  custodian   {}", c.custodian);
    println!("  origin      {}", c.origin);
    println!("  recipient   {}", c.recipient);
    println!("  signing key {}", c.verifier_key);
    println!("Keep the passphrase safe: without it nothing in the vault can be read.");
    Ok(ExitCode::SUCCESS)
}

pub fn rebuild(root: &Path, pass: &PassArgs) -> Result<ExitCode> {
    let passphrase = passphrase::get(pass)?;
    let vault = Vault::open(root, &passphrase, Access::Write)?;
    let catalog =
        athar_catalog::rebuild(&vault, &athar_catalog::Location::Sqlite(catalog_path(root)))?;
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
