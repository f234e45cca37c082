//! What goes into a package: the cases asked for, their photos and (when asked) derivatives,
//! and how they are split across bags when one drive cannot hold them all.

use serde::Serialize;

use athar_catalog::{CaseRow, Catalog, Photos, SqlCatalog};

use crate::bag::safe_name;
use crate::{PackageError, Result};

/// One evidence file in the payload.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub sha256: String,
    /// Path inside the bag, `data/<case>/…`.
    pub path: String,
    /// `original` or `derivative`.
    pub role: &'static str,
    /// For derivatives: `thumbnail`, `blur_strong` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For derivatives: the original they were made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    pub case: String,
    pub media_type: String,
    pub size: u64,
    /// Sequence numbers of the item's custody events, lines of `athar/events.jsonl`.
    pub event_seqs: Vec<u64>,
}

/// An original with its derivatives: never split across bags.
pub struct Group {
    pub case: String,
    pub items: Vec<Item>,
}

impl Group {
    pub fn bytes(&self) -> u64 {
        self.items.iter().map(|i| i.size).sum()
    }
}

pub fn cases(catalog: &SqlCatalog, ids: &[String]) -> Result<Vec<CaseRow>> {
    if ids.is_empty() {
        return Err(PackageError::NoCases);
    }
    let mut rows = Vec::new();
    for id in ids {
        let row = catalog
            .case(id)?
            .ok_or_else(|| PackageError::UnknownCase(id.clone()))?;
        if !rows.iter().any(|r: &CaseRow| r.id == row.id) {
            rows.push(row);
        }
    }
    Ok(rows)
}

pub fn groups(catalog: &SqlCatalog, cases: &[CaseRow], derivatives: bool) -> Result<Vec<Group>> {
    let mut groups = Vec::new();
    for case in cases {
        let dir = format!("data/{}", safe_name(&case.id));
        for photo in catalog.case_photos(&case.id)? {
            let mut items = vec![item(
                catalog,
                &photo.sha256,
                format!("{dir}/{}", photo.sha256),
                &case.id,
                None,
            )?];
            if derivatives {
                for (kind, sha, _transform) in catalog.derivatives(&photo.sha256)? {
                    let mut d = item(
                        catalog,
                        &sha,
                        format!("{dir}/derivatives/{}-{sha}", safe_name(&kind)),
                        &case.id,
                        Some(&photo.sha256),
                    )?;
                    d.kind = Some(kind);
                    items.push(d);
                }
            }
            groups.push(Group {
                case: case.id.clone(),
                items,
            });
        }
    }
    Ok(groups)
}

fn item(
    catalog: &SqlCatalog,
    sha: &str,
    stem: String,
    case: &str,
    original: Option<&str>,
) -> Result<Item> {
    let object = catalog
        .object(sha)?
        .ok_or_else(|| PackageError::MissingObject(sha.to_string()))?;
    Ok(Item {
        sha256: sha.to_string(),
        path: format!("{stem}.{}", extension(&object.media_type)),
        role: if original.is_some() {
            "derivative"
        } else {
            "original"
        },
        kind: None,
        original: original.map(str::to_string),
        case: case.to_string(),
        media_type: object.media_type,
        size: object.size,
        event_seqs: Vec::new(),
    })
}

/// By sniffed media type, never by the name the file had.
fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/tiff" => "tif",
        "image/webp" => "webp",
        "image/heif" | "image/heic" => "heic",
        "video/mp4" => "mp4",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// Fill bags in order, each up to `limit` payload bytes; a group that does not fit in an
/// empty bag is an error (it could not go on any drive of that size).
pub fn split(groups: Vec<Group>, limit: Option<u64>) -> Result<Vec<Vec<Group>>> {
    let Some(limit) = limit else {
        return Ok(vec![groups]);
    };
    let mut bags: Vec<Vec<Group>> = vec![Vec::new()];
    let mut used = 0u64;
    for g in groups {
        let size = g.bytes();
        if size > limit {
            return Err(PackageError::TooBig {
                sha256: g.items[0].sha256.clone(),
                size,
                limit,
            });
        }
        if used + size > limit && !bags.last().expect("one bag").is_empty() {
            bags.push(Vec::new());
            used = 0;
        }
        used += size;
        bags.last_mut().expect("one bag").push(g);
    }
    Ok(bags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(sha: &str, size: u64) -> Group {
        Group {
            case: "c".into(),
            items: vec![Item {
                sha256: sha.into(),
                path: String::new(),
                role: "original",
                kind: None,
                original: None,
                case: "c".into(),
                media_type: "image/jpeg".into(),
                size,
                event_seqs: Vec::new(),
            }],
        }
    }

    #[test]
    fn splits_greedily_and_refuses_what_fits_nowhere() {
        let bags = split(vec![group("a", 6), group("b", 5), group("c", 4)], Some(10)).unwrap();
        let names: Vec<Vec<&str>> = bags
            .iter()
            .map(|b| b.iter().map(|g| g.items[0].sha256.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["a"], vec!["b", "c"]]);
        assert!(matches!(
            split(vec![group("a", 11)], Some(10)),
            Err(PackageError::TooBig { size: 11, .. })
        ));
        assert_eq!(split(vec![group("a", 11)], None).unwrap().len(), 1);
    }
}
