//! From log to catalogue: catching up after a crash, and rebuilding from nothing.

use std::path::Path;

use athar_vault::Vault;

use crate::{Catalog, CatalogError, Result, SqliteCatalog};

const BATCH: usize = 2048;

/// Apply every log event the catalogue has not seen yet. Returns how many were applied.
pub fn catch_up(catalog: &mut dyn Catalog, vault: &Vault) -> Result<u64> {
    let from = catalog.last_seq()? + 1;
    if from > vault.tail().size {
        return Ok(0);
    }
    let prev = catalog.last_leaf()?;
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

/// Recreate the catalogue at `path` from the log alone, replacing the old one only once the
/// new one is complete. The missing-person records, which are not in the log, are carried
/// over from the old catalogue; if it cannot be read at all it is kept aside as
/// `<path>.unreadable` rather than deleted, so no family's record is lost.
pub fn rebuild(vault: &Vault, path: &Path) -> Result<SqliteCatalog> {
    let fresh = path.with_extension("rebuild");
    SqliteCatalog::remove_files(&fresh)?;
    {
        let mut cat = SqliteCatalog::open(&fresh, &vault.catalog_key())?;
        catch_up(&mut cat, vault)?;
        if path.exists() {
            if let Err(e) = cat.carry_records(path, &vault.catalog_key()) {
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
    SqliteCatalog::remove_files(path)?;
    std::fs::rename(&fresh, path).map_err(|source| CatalogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    SqliteCatalog::open(path, &vault.catalog_key())
}
