//! The authenticity report put into each package (`athar/authenticity.json`, `.html`,
//! `.ar.html`): athar-forensics' analysis of the packaged cases.

use athar_catalog::{CaseRow, SqlCatalog};
use athar_forensics::Lang;
use athar_vault::Vault;

use crate::{PackageError, Result};

/// The report, rendered.
pub struct Report {
    pub json: String,
    pub html_en: String,
    pub html_ar: Option<String>,
}

/// The authenticity report for the packaged cases: camera order, JPEG tables, thumbnails,
/// dates, sensor fingerprints and duplicates, with method and parameters.
pub fn report(vault: &Vault, catalog: &SqlCatalog, cases: &[CaseRow]) -> Result<Option<Report>> {
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let report = athar_forensics::report_for_cases(vault, catalog, &ids)
        .map_err(|e| PackageError::Authenticity(e.to_string()))?;
    Ok(Some(Report {
        json: serde_json::to_string_pretty(&report.to_json()).expect("json"),
        html_en: report.to_html(Lang::En),
        html_ar: Some(report.to_html(Lang::Ar)),
    }))
}
