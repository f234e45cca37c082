//! athar-corpus: a generator of a **synthetic, never graphic** test
//! collection modelled on the structure (not the content) of the "Caesar"
//! photographs: abstract grey "figures" with a numbered white card, shot by a
//! few cameras with fixed sensor noise, filed in dated folders with Arabic
//! names, mixed with unrelated distractor photos, plus a ground-truth CSV.
//!
//! See `docs/corpus.md` for the layout and the ground-truth columns.

pub mod camera;
pub mod card;
mod edit;
mod exif;
pub mod font;
mod noise;
mod plan;
mod render;
pub mod traits;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

pub use camera::{prnu_pattern, Camera, CAMERAS};
pub use edit::{exif_edit, ExifEdit, STRIPPED_PERCENT, SWAPPED_PERCENT};
pub use plan::{
    plan, to_arabic_indic, CardKind, NameNumbers, PhotoKind, PhotoPlan, Photographer, Scene,
    Timestamp, AFI, AFI_ARABIC, BRANCHES, DISTRACTOR_PERCENT, FIRST_DAY, HOSPITAL_601,
    HOSPITAL_TISHREEN, LAST_DAY, OFFSET_TIME, PHOTOGRAPHERS, SPARE_CAMERA,
};

/// Name of the ground-truth file at the corpus root.
pub const GROUND_TRUTH: &str = "ground_truth.csv";

/// Ground-truth CSV header, in column order.
pub const GROUND_TRUTH_COLUMNS: [&str; 26] = [
    "path",
    "sha256",
    "bytes",
    "kind",
    "scene",
    "body_id",
    "detainee",
    "branch",
    "report",
    "hospital",
    "names_have_numbers",
    "card",
    "camera_make",
    "camera_model",
    "camera_serial",
    "software",
    "datetime_original",
    "subsec_time_original",
    "offset_time_original",
    "photographer",
    "shot",
    // Per body (see `traits`): what an investigator would observe.
    "sex",
    "age",
    "marks",
    "exif_edit",
    "exif_camera_serial",
];

/// Generation options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Number of documented bodies (each 3-6 photos).
    pub bodies: usize,
    /// Seed of everything; same options give byte-identical output.
    pub seed: u64,
    /// Image width in pixels (all photos).
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Worker threads (0 is treated as 1). Output does not depend on it.
    pub threads: usize,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        CorpusOptions {
            bodies: 50,
            seed: 1,
            width: 1600,
            height: 1200,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSummary {
    pub photos: usize,
    pub body_photos: usize,
    pub distractors: usize,
    pub bodies: usize,
    /// Total size of the photos (not counting the CSV).
    pub bytes: u64,
    /// Path of `ground_truth.csv`.
    pub ground_truth: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("output directory {0} is not empty; refusing to write a corpus into it")]
    NotEmpty(PathBuf),
    #[error("output path {0} exists and is not a directory")]
    NotADirectory(PathBuf),
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JPEG encoding failed for {path}: {message}")]
    Encode { path: String, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn check_options(opts: &CorpusOptions) -> Result<(), CorpusError> {
    if !(64..=8192).contains(&opts.width) || !(64..=8192).contains(&opts.height) {
        return Err(CorpusError::InvalidOptions(format!(
            "image size {}x{} outside 64..=8192",
            opts.width, opts.height
        )));
    }
    Ok(())
}

/// Render and encode one photo into `scratch`; returns the Exif APP1
/// segment and the encoder output after SOI and JFIF APP0. The file is
/// `FF D8` + segment + rest.
fn encode_parts(
    opts: &CorpusOptions,
    photo: &PhotoPlan,
    prnu: &[f32],
    scratch: &mut Scratch,
) -> Result<(Vec<u8>, std::ops::Range<usize>), CorpusError> {
    check_options(opts)?;
    let (w, h) = (opts.width as usize, opts.height as usize);
    render::render_rgb(opts.seed, photo, w, h, prnu, &mut scratch.render);
    let cam = photo.camera();
    let edit = exif_edit(opts.seed, photo);
    scratch.jpeg.clear();
    let mut enc = jpeg_encoder::Encoder::new(&mut scratch.jpeg, cam.quality);
    let sampling = jpeg_encoder::SamplingFactor::from_factors(cam.subsampling.0, cam.subsampling.1)
        .expect("valid sampling factors");
    enc.set_sampling_factor(sampling);
    enc.encode(
        &scratch.render.rgb,
        opts.width as u16,
        opts.height as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .map_err(|e| CorpusError::Encode {
        path: photo.path.clone(),
        message: e.to_string(),
    })?;
    if edit == Some(ExifEdit::Stripped) {
        // What an EXIF stripper leaves: the encoder's JFIF header, no APP1.
        return Ok((Vec::new(), 2..scratch.jpeg.len()));
    }
    let named = match edit {
        Some(ExifEdit::Swapped(c)) => &CAMERAS[c],
        _ => cam,
    };
    let dt = photo.time.exif();
    let sub = photo.time.subsec_str();
    let payload = exif::build(&exif::ExifInfo {
        make: named.make,
        model: named.model,
        software: named.software,
        datetime: &dt,
        subsec: &sub,
        offset: OFFSET_TIME,
        serial: named.serial,
        width: opts.width,
        height: opts.height,
    });
    let rest = exif::after_app0(&scratch.jpeg);
    Ok((exif::segment(&payload), rest))
}

/// Per-thread reusable buffers.
#[derive(Default)]
struct Scratch {
    render: render::Scratch,
    jpeg: Vec<u8>,
}

/// Encode one photo as it would be written to disk (JPEG with Exif APP1),
/// given the camera's PRNU pattern at this resolution (see [`prnu_pattern`]).
pub fn render_jpeg_with(
    opts: &CorpusOptions,
    photo: &PhotoPlan,
    prnu: &[f32],
) -> Result<Vec<u8>, CorpusError> {
    let mut scratch = Scratch::default();
    let (seg, rest) = encode_parts(opts, photo, prnu, &mut scratch)?;
    let mut out = Vec::with_capacity(2 + seg.len() + rest.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    out.extend_from_slice(&seg);
    out.extend_from_slice(&scratch.jpeg[rest]);
    Ok(out)
}

/// Encode one photo; computes the camera pattern itself (slow when called
/// repeatedly; [`generate`] caches it).
pub fn render_jpeg(opts: &CorpusOptions, photo: &PhotoPlan) -> Result<Vec<u8>, CorpusError> {
    check_options(opts)?;
    let prnu = prnu_pattern(photo.camera(), opts.width, opts.height);
    render_jpeg_with(opts, photo, &prnu)
}

/// Write one photo; returns (sha256 hex, size).
fn write_photo(
    dir: &Path,
    opts: &CorpusOptions,
    photo: &PhotoPlan,
    prnu: &[f32],
    scratch: &mut Scratch,
) -> Result<(String, u64), CorpusError> {
    let (seg, rest) = encode_parts(opts, photo, prnu, scratch)?;
    let body = &scratch.jpeg[rest];
    let mut sha = Sha256::new();
    sha.update([0xFF, 0xD8]);
    sha.update(&seg);
    sha.update(body);
    let path = dir.join(&photo.path);
    let mut f = fs::File::create(&path).map_err(io_err(&path))?;
    f.write_all(&[0xFF, 0xD8])
        .and_then(|_| f.write_all(&seg))
        .and_then(|_| f.write_all(body))
        .map_err(io_err(&path))?;
    Ok((hex(&sha.finalize()), (2 + seg.len() + body.len()) as u64))
}

fn prepare_dir(dir: &Path) -> Result<(), CorpusError> {
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(CorpusError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {
            let mut it = fs::read_dir(dir).map_err(io_err(dir))?;
            if it.next().is_some() {
                Err(CorpusError::NotEmpty(dir.to_path_buf()))
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(io_err(dir))
        }
        Err(e) => Err(io_err(dir)(e)),
    }
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// RFC 4180 field quoting.
fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_row(p: &PhotoPlan, sha: &str, bytes: u64, seed: u64) -> String {
    let cam = p.camera();
    let edit = exif_edit(seed, p);
    let o = |x: &Option<String>| x.clone().unwrap_or_default();
    let traits = p.body_index.map(|i| traits::body_traits(seed, i));
    let fields: [String; 26] = [
        p.path.clone(),
        sha.to_string(),
        bytes.to_string(),
        p.kind.as_str().into(),
        p.scene.as_str().into(),
        o(&p.body_id),
        o(&p.detainee),
        o(&p.branch),
        o(&p.report),
        p.hospital.into(),
        p.names_have_numbers.map_or("", |n| n.as_str()).into(),
        p.card.map_or("", |c| c.as_str()).into(),
        cam.make.into(),
        cam.model.into(),
        cam.serial.into(),
        cam.software.unwrap_or("").into(),
        p.time.exif(),
        p.time.subsec_str(),
        OFFSET_TIME.into(),
        p.photographer.into(),
        p.shot.map_or(String::new(), |s| s.to_string()),
        traits.as_ref().map_or("", |t| t.sex).into(),
        traits.as_ref().map_or(String::new(), |t| t.age.to_string()),
        traits
            .as_ref()
            .map_or(String::new(), |t| t.marks.join("; ")),
        edit.map_or("", ExifEdit::as_str).into(),
        match edit {
            Some(ExifEdit::Swapped(c)) => CAMERAS[c].serial,
            Some(ExifEdit::Stripped) => "",
            None => cam.serial,
        }
        .into(),
    ];
    let mut line = String::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_field(&mut line, f);
    }
    line.push_str("\r\n");
    line
}

/// Generate the collection into `dir` (created if missing; must be empty).
///
/// `progress(done, total)` is called from worker threads after each photo.
pub fn generate(
    dir: &Path,
    opts: &CorpusOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<CorpusSummary, CorpusError> {
    check_options(opts)?;
    prepare_dir(dir)?;
    let photos = plan(opts);
    let total = photos.len();
    let threads = opts.threads.max(1);
    progress(0, total);

    // Directories first (sequential, cheap).
    let mut dirs: Vec<&str> = photos
        .iter()
        .filter_map(|p| p.path.rsplit_once('/').map(|(d, _)| d))
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    for d in dirs {
        let full = dir.join(d);
        fs::create_dir_all(&full).map_err(io_err(&full))?;
    }

    // Fixed sensor patterns of the cameras in use, computed in parallel.
    let mut used: Vec<usize> = photos.iter().map(|p| p.camera).collect();
    used.sort_unstable();
    used.dedup();
    let mut patterns: Vec<Option<Vec<f32>>> = vec![None; CAMERAS.len()];
    {
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Vec<f32>>>> =
            (0..CAMERAS.len()).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..threads.min(used.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&c) = used.get(i) else { break };
                    let pat = prnu_pattern(&CAMERAS[c], opts.width, opts.height);
                    *slots[c].lock().unwrap() = Some(pat);
                });
            }
        });
        for (p, s) in patterns.iter_mut().zip(slots) {
            *p = s.into_inner().unwrap();
        }
    }

    // Photos, in parallel; results land in their plan slot.
    let next = AtomicUsize::new(0);
    let done = Mutex::new(0usize);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<(String, u64)>>> = (0..total).map(|_| Mutex::new(None)).collect();
    let first_error: Mutex<Option<CorpusError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.min(total.max(1)) {
            s.spawn(|| {
                let mut scratch = Scratch::default();
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = photos.get(i) else { break };
                    let prnu = patterns[p.camera].as_deref().expect("pattern computed");
                    match write_photo(dir, opts, p, prnu, &mut scratch) {
                        Ok(v) => {
                            *results[i].lock().unwrap() = Some(v);
                            // Under the lock, so the callback sees `done` in order.
                            let mut d = done.lock().unwrap();
                            *d += 1;
                            progress(*d, total);
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e);
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }

    let mut csv = String::with_capacity(300 * (total + 1));
    csv.push_str(&GROUND_TRUTH_COLUMNS.join(","));
    csv.push_str("\r\n");
    let mut bytes = 0u64;
    for (p, r) in photos.iter().zip(results) {
        let (sha, n) = r.into_inner().unwrap().expect("photo rendered");
        bytes += n;
        csv.push_str(&csv_row(p, &sha, n, opts.seed));
    }
    let gt = dir.join(GROUND_TRUTH);
    let mut f = fs::File::create(&gt).map_err(io_err(&gt))?;
    f.write_all(csv.as_bytes()).map_err(io_err(&gt))?;

    let body_photos = photos.iter().filter(|p| p.kind == PhotoKind::Body).count();
    Ok(CorpusSummary {
        photos: total,
        body_photos,
        distractors: total - body_photos,
        bodies: opts.bodies,
        bytes,
        ground_truth: gt,
    })
}

/// The rows of a ground-truth CSV (as [`generate`] writes it), each keyed by column name.
/// Quoted fields may hold commas and doubled quotes; none holds a line break.
pub fn ground_truth_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let split = |line: &str| {
        let (mut cells, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        cells.push(cur);
        cells
    };
    let mut lines = text.lines();
    let header = split(lines.next().unwrap_or_default());
    lines
        .map(|l| header.iter().cloned().zip(split(l)).collect())
        .collect()
}
