//! The photo collection every contender reads: generated once with `athar-corpus`, cached.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use athar_corpus::CorpusOptions;

const SEED: u64 = 1;
const WIDTH: u32 = 1600;
const HEIGHT: u32 = 1200;
/// Written last, so a cached collection is known to be whole.
const COMPLETE: &str = "complete";

/// A generated folder of photos, and nothing else.
#[derive(Debug)]
pub struct Collection {
    /// The folder handed to every contender.
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub bodies: usize,
}

impl Collection {
    pub fn photos(&self) -> usize {
        self.files.len()
    }
}

/// The options that make at least `photos` photos: the fewest bodies whose plan is that big.
pub fn options_for(photos: usize) -> CorpusOptions {
    let mut opts = CorpusOptions {
        // About four photos per body, and 45% of the collection are distractors.
        bodies: (photos as f64 * 0.55 / 4.0).ceil().max(1.0) as usize,
        seed: SEED,
        width: WIDTH,
        height: HEIGHT,
        ..CorpusOptions::default()
    };
    while athar_corpus::plan(&opts).len() < photos {
        opts.bodies += 1;
    }
    // Step back while still big enough (the estimate may overshoot).
    while opts.bodies > 1 && {
        let fewer = CorpusOptions {
            bodies: opts.bodies - 1,
            ..opts.clone()
        };
        athar_corpus::plan(&fewer).len() >= photos
    } {
        opts.bodies -= 1;
    }
    opts
}

/// A collection of at least `photos` photos under `work`, generated unless cached.
/// The ground-truth CSV is moved out of the photo folder so the folder holds photos only.
pub fn ensure(work: &Path, photos: usize) -> Result<Collection> {
    let opts = options_for(photos);
    let root = work.join(format!(
        "corpus-b{}-s{}-{}x{}",
        opts.bodies, opts.seed, opts.width, opts.height
    ));
    let dir = root.join("photos");
    if !root.join(COMPLETE).exists() {
        if root.exists() {
            fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
        }
        eprintln!(
            "generating {} photos ({} bodies) into {} ...",
            athar_corpus::plan(&opts).len(),
            opts.bodies,
            dir.display()
        );
        let start = Instant::now();
        let summary = athar_corpus::generate(&dir, &opts, &|done, total| {
            if done % 250 == 0 && done > 0 {
                eprintln!("  {done}/{total}");
            }
        })
        .context("generating the collection")?;
        fs::rename(&summary.ground_truth, root.join(athar_corpus::GROUND_TRUTH))?;
        eprintln!(
            "  {} photos, {:.1} MB in {:.0} s",
            summary.photos,
            summary.bytes as f64 / 1e6,
            start.elapsed().as_secs_f64()
        );
        fs::write(
            root.join(COMPLETE),
            format!("{} photos, {} bytes\n", summary.photos, summary.bytes),
        )?;
    }
    let files = files_under(&dir)?;
    let bytes = files
        .iter()
        .map(|f| fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    if files.len() < photos {
        bail!(
            "{} holds {} photos, fewer than the {photos} asked for; delete it to regenerate",
            dir.display(),
            files.len()
        );
    }
    Ok(Collection {
        dir,
        files,
        bytes,
        bodies: opts.bodies,
    })
}

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    list(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn list(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            list(&entry.path(), out)?;
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Read every file once so that whoever reads them next reads from the page cache.
pub fn warm(files: &[PathBuf]) -> Result<Duration> {
    let start = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        let mut file = fs::File::open(f)?;
        while file.read(&mut buf)? > 0 {}
    }
    Ok(start.elapsed())
}
