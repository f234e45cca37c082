//! Finding bundles on a drive: which files are parts of which bundle, and which signed
//! manifest describes them. Only the signature is checked here (against the key the
//! manifest names); whether that key is trusted is for the caller to decide.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use athar_tlog::Verifier;

use crate::error::{io_at, Result};
use crate::format::{self, Manifest, HEADER_LEN, TRAILER_LEN};
use crate::pack::read_at;

/// A bundle found on a drive.
#[derive(Debug, Clone)]
pub struct Found {
    pub manifest: Manifest,
    /// The signed manifest, verbatim.
    pub note: String,
    pub verifier: Verifier,
    /// The file holding each part, by part index; `None` when none was found.
    pub files: Vec<Option<PathBuf>>,
    /// What was odd about particular parts (renamed, swapped, altered manifest copy …).
    pub notes: Vec<PartNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartNote {
    pub part: String,
    pub message: String,
}

/// Something on the drive that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The bundle id it concerns, if known.
    pub bundle: Option<String>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub bundles: Vec<Found>,
    pub problems: Vec<Problem>,
}

struct Candidate {
    path: PathBuf,
    name: String,
    header: Option<([u8; 16], u32, u32)>,
    manifest: Option<Result<(Manifest, String, Verifier), String>>,
}

fn read_candidate(path: &Path) -> Result<Option<Candidate>> {
    let file = File::open(path).map_err(io_at(path))?;
    let len = file.metadata().map_err(io_at(path))?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut head = [0u8; HEADER_LEN as usize];
    let got = read_at(&file, 0, &mut head).map_err(io_at(path))?;
    let header = format::parse_header(&head[..got]);
    let mut manifest = None;
    if len >= HEADER_LEN + TRAILER_LEN {
        let mut t = [0u8; TRAILER_LEN as usize];
        read_at(&file, len - TRAILER_LEN, &mut t).map_err(io_at(path))?;
        if let Some(mlen) = format::parse_trailer(&t, len) {
            let mut note = vec![0u8; mlen as usize];
            let at = len - TRAILER_LEN - mlen;
            if read_at(&file, at, &mut note).map_err(io_at(path))? == note.len() {
                manifest = Some(match String::from_utf8(note) {
                    Ok(note) => format::open_manifest(&note).map(|(m, v)| (m, note, v)),
                    Err(_) => {
                        Err("the manifest is not valid text: it was damaged or altered".to_string())
                    }
                });
            }
        }
    }
    if header.is_none() && manifest.is_none() {
        // Maybe a part with a damaged header and end: only a manifest can tell, by name.
        return Ok(Some(Candidate {
            path: path.to_path_buf(),
            name,
            header: None,
            manifest: None,
        }));
    }
    Ok(Some(Candidate {
        path: path.to_path_buf(),
        name,
        header,
        manifest,
    }))
}

/// Look through `dir` (and folders in it, three levels deep) for bundle parts.
pub fn scan(dir: &Path) -> Result<Scan> {
    let meta = std::fs::metadata(dir).map_err(io_at(dir))?;
    if !meta.is_dir() {
        return Err(crate::BundleError::BadOption(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut candidates = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .max_depth(3)
        .sort_by_file_name()
    {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".partial") {
            continue; // an unfinished pack
        }
        if let Some(c) = read_candidate(entry.path())? {
            candidates.push(c);
        }
    }
    Ok(assemble(candidates))
}

fn assemble(candidates: Vec<Candidate>) -> Scan {
    let mut scan = Scan::default();
    // Valid manifests by bundle id; bad copies by the id their part header claims.
    let mut good: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    let mut bad: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        match &c.manifest {
            Some(Ok((m, note, _))) => good
                .entry(m.bundle.clone())
                .or_default()
                .push((i, note.clone())),
            Some(Err(reason)) => {
                let id = c.header.map(|h| hex::encode(h.0)).unwrap_or_default();
                bad.entry(id).or_default().push((i, reason.clone()));
            }
            None => {}
        }
    }
    for (id, copies) in &good {
        let mut notes: Vec<&String> = copies.iter().map(|(_, n)| n).collect();
        notes.sort();
        notes.dedup();
        if notes.len() > 1 {
            let names: Vec<&str> = copies
                .iter()
                .map(|(i, _)| candidates[*i].name.as_str())
                .collect();
            scan.problems.push(Problem {
                bundle: Some(id.clone()),
                message: format!(
                    "refused: the parts carry {} different signed manifests for this bundle ({}): forged or mixed up",
                    notes.len(),
                    names.join(", ")
                ),
            });
            continue;
        }
        let (first, note) = &copies[0];
        let Some(Ok((manifest, _, verifier))) = &candidates[*first].manifest else {
            unreachable!("good copies have manifests")
        };
        scan.bundles.push(place_parts(
            manifest.clone(),
            note.clone(),
            verifier.clone(),
            &candidates,
            bad.get(id).map(Vec::as_slice).unwrap_or(&[]),
        ));
    }
    // Parts whose bundle has no intact manifest anywhere.
    let mut orphan: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for c in &candidates {
        let Some((id, _, _)) = c.header else { continue };
        let id = hex::encode(id);
        if good.contains_key(&id) {
            continue;
        }
        let entry = orphan.entry(id).or_default();
        entry.0.push(c.name.clone());
        if let Some(Err(reason)) = &c.manifest {
            entry.1.push(format!("{}: {reason}", c.name));
        }
    }
    for (id, (names, reasons)) in orphan {
        let why = if reasons.is_empty() {
            "no part has a readable manifest".to_string()
        } else {
            reasons.join("; ")
        };
        scan.problems.push(Problem {
            bundle: Some(id),
            message: format!(
                "refused: no intact signed manifest for the parts {} ({why})",
                names.join(", ")
            ),
        });
    }
    scan
}

fn place_parts(
    manifest: Manifest,
    note: String,
    verifier: Verifier,
    candidates: &[Candidate],
    bad_copies: &[(usize, String)],
) -> Found {
    let id = manifest.id_bytes();
    let count = manifest.parts.len() as u32;
    let mut notes = Vec::new();
    let mut files = vec![None; manifest.parts.len()];
    for (i, part) in manifest.parts.iter().enumerate() {
        let claims = |c: &Candidate| c.header == Some((id, i as u32, count));
        let named: Vec<&Candidate> = candidates.iter().filter(|c| c.name == part.name).collect();
        let chosen = named
            .iter()
            .find(|c| claims(c))
            .or_else(|| named.iter().find(|c| c.header.is_none()))
            .copied()
            .or_else(|| candidates.iter().find(|c| claims(c)));
        match chosen {
            Some(c) => {
                if c.name != part.name {
                    notes.push(PartNote {
                        part: part.name.clone(),
                        message: format!("found under another name, {}", c.name),
                    });
                } else if c.header.is_none() {
                    notes.push(PartNote {
                        part: part.name.clone(),
                        message: "its header is damaged".into(),
                    });
                }
                files[i] = Some(c.path.clone());
            }
            None => {
                if let Some(other) = named.first().and_then(|c| c.header) {
                    let (oid, oi, _) = other;
                    let message = if oid == id {
                        format!("holds part {} of this bundle, not part {i}: swapped", oi)
                    } else {
                        format!(
                            "belongs to another bundle ({}): swapped or misplaced, not used",
                            hex::encode(oid)
                        )
                    };
                    notes.push(PartNote {
                        part: part.name.clone(),
                        message,
                    });
                }
            }
        }
    }
    for (i, reason) in bad_copies {
        notes.push(PartNote {
            part: candidates[*i].name.clone(),
            message: format!(
                "its copy of the manifest is unusable ({reason}); another part's copy was used"
            ),
        });
    }
    Found {
        manifest,
        note,
        verifier,
        files,
        notes,
    }
}
