//! The analysis alone, in this process: what `athar analyze` does to each photo (decode,
//! EXIF, PDQ and pHash, the card reader for photos whose names carry no numbers, three
//! derivatives) without the vault around it (no decryption, no encryption of the
//! derivatives, no signed log, no catalogue). It is the issue's "full analysis (decode, EXIF,
//! hashes, derivatives)" read literally, beside `athar analyze`, which is all of that and
//! the vault.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{ensure, Context, Result};
use athar_media::{analyze, AnalyzeOptions, NumberPatterns};

use crate::collection::Collection;
use crate::measure::{self, Measured};

/// Analyse every photo of `c` on all cores, as `athar analyze` would; returns the time and
/// this process's CPU. Fails if any photo fails to analyse.
pub fn run(c: &Collection) -> Result<Measured> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let patterns = NumberPatterns::default();
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    // Like every contender, start with nothing left to write back (athar analyze, just
    // before, leaves the derivatives' files to the kernel's writeback otherwise).
    crate::contenders::settle();
    let (m, ()) = measure::time(|| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while let Some(path) = c.files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let Ok(bytes) = std::fs::read(path) else {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        let labels = patterns.parse(&path.to_string_lossy());
                        let opts = AnalyzeOptions::for_labels(&labels);
                        let a = std::hint::black_box(analyze(&bytes, &opts));
                        if a.error.is_some() || a.derivatives.len() != 3 {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Ok(())
    })
    .context("analysing the collection in process")?;
    let failed = failed.into_inner();
    ensure!(failed == 0, "{failed} photos failed to analyse");
    Ok(m)
}
