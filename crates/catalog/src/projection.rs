//! From log to catalogue: catching up after a crash, and rebuilding from nothing.

use std::path::Path;

use athar_vault::Vault;

use crate::{Catalog, CatalogError, Location, Result, SqlCatalog};

const BATCH: usize = 2048;

/// Apply every log event the catalogue has not seen yet. Returns how many were applied.
pub fn catch_up(catalog: &mut dyn Catalog, vault: &Vault) -> Result<u64> {
    let (last, prev) = catalog.position()?;
    let from = last + 1;
    if from > vault.tail().size {
        return Ok(0);
    }
    let mut batch = Vec::with_capacity(BATCH);
    let mut failed: Option<CatalogError> = None;
    let n = vault.read_log_from(from, prev, |ev| {
        batch.push(ev);
        if batch.len() == BATCH {
            if let Err(e) = catalog.apply(&batch) {
                failed = Some(e);
                return Err(athar_vault::VaultError::Invalid(
                    "catalogue update failed".into(),
                ));
            }
            batch.clear();
        }
        Ok(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let n = n?;
    catalog.apply(&batch)?;
    Ok(n)
}

/// Recreate the catalogue at `location` from the log alone, replacing the old one only once
/// the new one is complete; if anything fails the old one stays as it was. The
/// missing-person records, which are not in the log, are carried over from the old
/// catalogue.
pub fn rebuild(vault: &Vault, location: &Location) -> Result<SqlCatalog> {
    match location {
        Location::Sqlite(path) => rebuild_sqlite(vault, path),
        Location::Postgres { url, schema } => rebuild_postgres(vault, url, schema),
    }
}

/// SQLite: build `<path>.rebuild`, then rename it over the old file. If the old file cannot
/// be read at all it is kept aside as `<path>.unreadable` rather than deleted, so no
/// family's record is lost.
fn rebuild_sqlite(vault: &Vault, path: &Path) -> Result<SqlCatalog> {
    let key = vault.catalog_key();
    let fresh = path.with_extension("rebuild");
    SqlCatalog::remove_files(&fresh)?;
    {
        let mut cat = SqlCatalog::open_sqlite(&fresh, &key)?;
        catch_up(&mut cat, vault)?;
        if path.exists() {
            let carried =
                SqlCatalog::open_sqlite(path, &key).and_then(|old| cat.carry_records(&old));
            if let Err(e) = carried {
                if matches!(e, CatalogError::DiskFull) {
                    return Err(e);
                }
                let mut aside = path.as_os_str().to_owned();
                aside.push(".unreadable");
                std::fs::rename(path, &aside).map_err(|source| CatalogError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            }
        }
    }
    SqlCatalog::remove_files(path)?;
    std::fs::rename(&fresh, path).map_err(|source| CatalogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    SqlCatalog::open_sqlite(path, &key)
}

/// PostgreSQL: build into a fresh schema `<schema>_rebuild`, carry the records over, then
/// in one transaction drop the old schema and give the new one its name. Until that
/// transaction commits, readers and writers keep using the old schema untouched.
fn rebuild_postgres(vault: &Vault, url: &str, schema: &str) -> Result<SqlCatalog> {
    let staging = format!("{schema}_rebuild");
    let mut cat = SqlCatalog::connect_postgres_fresh(url, &staging)?;
    catch_up(&mut cat, vault)?;
    let old = SqlCatalog::connect_postgres_schema(url, schema)?;
    cat.carry_records(&old)?;
    drop(old);
    cat.db().transaction(|tx| {
        tx.execute(&format!("DROP SCHEMA {schema} CASCADE"), &[])?;
        tx.execute(&format!("ALTER SCHEMA {staging} RENAME TO {schema}"), &[])?;
        Ok(())
    })?;
    drop(cat);
    SqlCatalog::connect_postgres_schema(url, schema)
}
