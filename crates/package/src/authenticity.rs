//! The authenticity report put into each package (`athar/authenticity.json`, `.html`).
//!
//! [`report`] is the one place where the forensic analysis plugs in.

use athar_catalog::{CaseRow, SqliteCatalog};
use athar_vault::Vault;

use crate::Result;

/// The report, rendered.
pub struct Report {
    pub json: String,
    pub html_en: String,
    pub html_ar: Option<String>,
}

/// The authenticity report for the packaged cases, or `None` when this build has no
/// forensic analysis to run.
pub fn report(
    _vault: &Vault,
    _catalog: &SqliteCatalog,
    _cases: &[CaseRow],
) -> Result<Option<Report>> {
    Ok(None)
}
