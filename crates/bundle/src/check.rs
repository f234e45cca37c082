//! Checking a bundle's shards against its signed manifest, repairing them from parity, and
//! writing a clean copy. Works on ciphertext only: no key is needed.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{io_at, BundleError, Result};
use crate::format::{self, Manifest};
use crate::layout::shard_digest;
use crate::pack::read_at;
use crate::scan::{Found, PartNote};
use crate::writer::RowCoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    Intact,
    /// Some shards were damaged (or the file was short).
    Damaged,
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartStatus {
    pub name: String,
    pub state: PartState,
    /// Shards that failed their hash (all of them for a missing part).
    pub bad_shards: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub bundle: String,
    pub kind: String,
    pub signer: String,
    pub seq: u64,
    pub created: String,
    pub parts: Vec<PartStatus>,
    pub notes: Vec<PartNote>,
    pub shards_total: u64,
    pub shards_bad: u64,
    /// Rows with more damage than their parity can repair.
    pub rows_lost: u64,
    pub rows: u64,
    /// Every shard is intact, or can be rebuilt from parity.
    pub recoverable: bool,
    /// Whole parts that may be lost with the bundle still recoverable.
    pub parts_tolerated: u32,
    /// Lost or damaged shards each row can take.
    pub parity_per_row: u32,
}

impl CheckReport {
    pub fn intact(&self) -> bool {
        self.shards_bad == 0
    }

    /// Parts that are missing or damaged, by name.
    pub fn bad_parts(&self) -> Vec<&PartStatus> {
        self.parts
            .iter()
            .filter(|p| p.state != PartState::Intact)
            .collect()
    }

    /// One sentence on why the bundle cannot be used, listing parts by name.
    pub fn refusal(&self) -> String {
        let list = |state: PartState| -> Vec<String> {
            self.parts
                .iter()
                .filter(|p| p.state == state)
                .map(|p| p.name.clone())
                .collect()
        };
        let missing = list(PartState::Missing);
        let damaged: Vec<String> = self
            .parts
            .iter()
            .filter(|p| p.state == PartState::Damaged)
            .map(|p| format!("{} ({} damaged shards)", p.name, p.bad_shards))
            .collect();
        let mut what = Vec::new();
        if !missing.is_empty() {
            what.push(format!("missing parts: {}", missing.join(", ")));
        }
        if !damaged.is_empty() {
            what.push(format!("damaged parts: {}", damaged.join(", ")));
        }
        format!(
            "damaged beyond repair ({} of {} rows exceed the parity budget of {} shards per row); {}. Find the missing parts or another copy of the drive",
            self.rows_lost,
            self.rows,
            self.parity_budget(),
            what.join("; ")
        )
    }

    fn parity_budget(&self) -> u32 {
        self.parity_per_row
    }
}

/// Check every shard; with `dest`, also write a clean, repaired copy of every part there.
/// Returns the report; the copy is complete only if the report says `recoverable`.
pub fn check(found: &Found, dest: Option<&Path>) -> Result<CheckReport> {
    let m = &found.manifest;
    let layout = m.layout();
    let n_parts = layout.parts as usize;
    let cpp = layout.cpp() as usize;
    let s = layout.shard as usize;
    let expected: Vec<Vec<[u8; 32]>> = (0..n_parts).map(|p| m.shard_hashes(p)).collect();
    let files: Vec<Option<File>> = found
        .files
        .iter()
        .map(|f| f.as_ref().and_then(|p| File::open(p).ok()))
        .collect();
    let mut bad_per_part = vec![0u64; n_parts];
    let mut rows_lost = 0u64;
    let mut out = match dest {
        Some(d) => Some(CleanCopy::create(d, m, &found.note)?),
        None => None,
    };
    let mut coder = RowCoder::new(layout);
    let mut decoder = if layout.parity > 0 {
        Some(
            reed_solomon_simd::ReedSolomonDecoder::new(
                layout.data as usize,
                layout.parity as usize,
                s,
            )
            .map_err(|e| BundleError::Format(e.to_string()))?,
        )
    } else {
        None
    };
    // One row of every part: cpp shards each, read and hashed in parallel.
    let mut bufs: Vec<Vec<u8>> = vec![vec![0u8; cpp * s]; n_parts];
    let mut ok: Vec<Vec<bool>> = vec![vec![false; cpp]; n_parts];
    let mut data_row = vec![0u8; layout.row_payload() as usize];
    for r in 0..m.rows {
        bufs.par_iter_mut()
            .zip(ok.par_iter_mut())
            .enumerate()
            .for_each(|(p, (buf, ok))| {
                let offset = format::HEADER_LEN + r * (cpp * s) as u64;
                let got = match &files[p] {
                    Some(f) => read_at(f, offset, buf).unwrap_or(0),
                    None => 0,
                };
                for j in 0..cpp {
                    let shard = &buf[j * s..(j + 1) * s];
                    ok[j] = (j + 1) * s <= got
                        && shard_digest(shard)[..] == expected[p][r as usize * cpp + j];
                }
            });
        let mut erased = 0usize;
        for (bad_total, ok) in bad_per_part.iter_mut().zip(&ok) {
            let bad = ok.iter().filter(|x| !**x).count();
            *bad_total += bad as u64;
            erased += bad;
        }
        let repairable = erased <= layout.parity as usize;
        if !repairable {
            rows_lost += 1;
        }
        let Some(out) = out.as_mut() else { continue };
        if rows_lost > 0 {
            continue; // the copy will be thrown away; keep counting the damage
        }
        if erased > 0 {
            // Gather the data columns, rebuild the lost ones from parity, then recompute
            // the lost shards (data or parity) and check them against the manifest.
            let col_at = |col: usize| (col % n_parts, col / n_parts);
            let k = layout.data as usize;
            for col in 0..k {
                let (p, j) = col_at(col);
                data_row[col * s..(col + 1) * s].copy_from_slice(&bufs[p][j * s..(j + 1) * s]);
            }
            let dec = decoder
                .as_mut()
                .expect("erasures within a parity budget of 0 are none");
            for col in 0..layout.columns() as usize {
                let (p, j) = col_at(col);
                if !ok[p][j] {
                    continue;
                }
                let shard = &bufs[p][j * s..(j + 1) * s];
                if col < k {
                    dec.add_original_shard(col, shard)
                } else {
                    dec.add_recovery_shard(col - k, shard)
                }
                .map_err(|e| BundleError::Format(e.to_string()))?;
            }
            let restored = dec
                .decode()
                .map_err(|e| BundleError::Format(format!("repair failed: {e}")))?;
            for (col, shard) in restored.restored_original_iter() {
                data_row[col * s..(col + 1) * s].copy_from_slice(shard);
            }
            drop(restored);
            coder
                .encode(&data_row)
                .map_err(|e| BundleError::Format(e.to_string()))?;
            for col in 0..layout.columns() as usize {
                let (p, j) = col_at(col);
                if ok[p][j] {
                    continue;
                }
                let shard = coder.shard(&data_row, col as u32);
                if shard_digest(shard)[..] != expected[p][r as usize * cpp + j] {
                    return Err(BundleError::Format(format!(
                        "repair of row {r} did not reproduce the signed shard hashes"
                    )));
                }
                bufs[p][j * s..(j + 1) * s].copy_from_slice(shard);
            }
        }
        for (p, buf) in bufs.iter().enumerate() {
            out.write_shards(p, buf)?;
        }
    }
    let parts = m
        .parts
        .iter()
        .enumerate()
        .map(|(p, part)| PartStatus {
            name: part.name.clone(),
            state: if found.files[p].is_none() {
                PartState::Missing
            } else if bad_per_part[p] > 0 {
                PartState::Damaged
            } else {
                PartState::Intact
            },
            bad_shards: bad_per_part[p],
        })
        .collect();
    let report = CheckReport {
        bundle: m.bundle.clone(),
        kind: m.kind.clone(),
        signer: m.signer.clone(),
        seq: m.seq,
        created: m.created.clone(),
        parts,
        notes: found.notes.clone(),
        shards_total: m.rows * layout.columns() as u64,
        shards_bad: bad_per_part.iter().sum(),
        rows_lost,
        rows: m.rows,
        recoverable: rows_lost == 0,
        parts_tolerated: layout.parts_tolerated(),
        parity_per_row: layout.parity,
    };
    if let Some(out) = out {
        if report.recoverable {
            out.finish()?;
        }
    }
    Ok(report)
}

/// A clean copy of a bundle being written: every part, under its name, in a directory.
struct CleanCopy {
    files: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    note: String,
    done: bool,
}

impl CleanCopy {
    fn create(dir: &Path, m: &Manifest, note: &str) -> Result<CleanCopy> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let count = m.parts.len() as u32;
        let id = m.id_bytes();
        let mut files = Vec::new();
        let mut paths = Vec::new();
        for (i, part) in m.parts.iter().enumerate() {
            let path = dir.join(&part.name);
            let f = File::create(&path).map_err(io_at(&path))?;
            let mut w = BufWriter::with_capacity(256 << 10, f);
            w.write_all(&format::part_header(&id, i as u32, count))
                .map_err(io_at(&path))?;
            files.push(w);
            paths.push(path);
        }
        Ok(CleanCopy {
            files,
            paths,
            note: note.to_string(),
            done: false,
        })
    }

    fn write_shards(&mut self, p: usize, shards: &[u8]) -> Result<()> {
        self.files[p]
            .write_all(shards)
            .map_err(io_at(&self.paths[p]))
    }

    fn finish(mut self) -> Result<()> {
        let trailer = format::part_trailer(self.note.len() as u64);
        for (w, path) in self.files.iter_mut().zip(&self.paths) {
            w.write_all(self.note.as_bytes())
                .and_then(|_| w.write_all(&trailer))
                .and_then(|_| w.flush())
                .and_then(|_| w.get_ref().sync_all())
                .map_err(io_at(path))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for CleanCopy {
    fn drop(&mut self) {
        if !self.done {
            for p in &self.paths {
                let _ = fs::remove_file(p);
            }
        }
    }
}
