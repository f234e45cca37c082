//! athar-media: the per-image analysis of athar.
//!
//! A pure library (no vault, no SQL): given the bytes of one file it sniffs
//! the media type, reads EXIF the way `exiftool` does, decodes the pixels
//! (JPEG with reduced-size DCT decoding, PNG, TIFF), computes perceptual
//! hashes (PDQ and a 64-bit DCT pHash), makes derivatives (a thumbnail and
//! graded blurred previews, each with a description of its transform), and
//! optionally reads the numbers on the identification card. Separately,
//! [`NumberPatterns`] parses detainee, branch and forensic-report numbers,
//! photographer and date from folder and file names.
//!
//! The entry point is [`analyze`], which never panics: a file that cannot
//! be decoded gives an [`Analysis`] with [`Analysis::error`] set and
//! whatever could still be read (media type, EXIF, dimensions).
//!
//! Formats and definitions: `docs/formats/media.md`.

pub mod card;
pub mod compare;
pub mod decode;
mod exif;
mod ifd;
mod jpeg;
pub mod jpeg_encode;
pub mod numbers;
pub mod ops;
pub mod pdq;
pub mod phash;
pub mod sniff;

use std::borrow::Cow;

use serde::{Serialize, Serializer};

pub use card::{read_card, CardNumbers};
pub use decode::{decode_full, decode_reduced, dimensions, Decoded, RgbImage};
pub use exif::{read_exif, Exif, Gps};
pub use numbers::{Labels, NumberPatterns, PatternError};
pub use pdq::{pdq_dihedral, pdq_distance, pdq_min_distance, Dihedral, Pdq};
pub use phash::{phash, phash_distance};

/// Why pixels could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not a format this crate decodes (the sniffed media type).
    #[error("no decoder for {0}")]
    Unsupported(String),
    /// The decoder failed (corrupt or truncated data, unsupported variant).
    #[error("{0}")]
    Decode(String),
    /// Refused: more than [`decode::MAX_PIXELS`] pixels.
    #[error("image too large: {0}x{1} pixels")]
    TooLarge(u32, u32),
}

/// Largest thumbnail side [`analyze`] makes, whatever the options say.
pub const MAX_THUMBNAIL: u32 = 320;
/// Largest blurred-preview side [`analyze`] makes.
pub const MAX_PREVIEW: u32 = 640;

/// What [`analyze`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeOptions {
    /// PDQ and pHash.
    pub hashes: bool,
    /// Thumbnail and blurred previews.
    pub derivatives: bool,
    /// Look for the numbered card in the picture (decodes at a larger size).
    pub read_card: bool,
    /// Longest side of the thumbnail (at most [`MAX_THUMBNAIL`]).
    pub thumbnail_max: u32,
    /// Longest side at which the blurred previews are meant to be shown
    /// (at most [`MAX_PREVIEW`]); sigma is relative to it. They are stored
    /// smaller (see [`Derivative::display_width`]).
    pub preview_max: u32,
    /// JPEG quality of the thumbnail.
    pub thumbnail_quality: u8,
    /// JPEG quality of the previews.
    pub preview_quality: u8,
    /// Gaussian sigma of the medium blur, as a fraction of the preview's
    /// longest side.
    pub blur_medium: f32,
    /// Gaussian sigma of the strong blur, same unit.
    pub blur_strong: f32,
}

impl AnalyzeOptions {
    /// The options for a photo whose folder and file names gave `labels`: everything, and
    /// the card reader only when the names carry no numbers (reading it costs time).
    pub fn for_labels(labels: &Labels) -> AnalyzeOptions {
        AnalyzeOptions {
            read_card: !labels.has_numbers(),
            ..Default::default()
        }
    }
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            hashes: true,
            derivatives: true,
            read_card: false,
            thumbnail_max: 320,
            preview_max: 320,
            thumbnail_quality: 80,
            preview_quality: 75,
            blur_medium: 0.01,
            blur_strong: 0.03,
        }
    }
}

/// Kinds of derivative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DerivativeKind {
    Thumbnail,
    BlurMedium,
    BlurStrong,
}

impl DerivativeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DerivativeKind::Thumbnail => "thumbnail",
            DerivativeKind::BlurMedium => "blur_medium",
            DerivativeKind::BlurStrong => "blur_strong",
        }
    }
}

/// A new image made from the original. The vault stores it as its own
/// object with a PREMIS "creation" event naming the original and
/// [`Derivative::transform`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derivative {
    pub kind: DerivativeKind,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    /// Stored size.
    pub width: u32,
    pub height: u32,
    /// Size to show it at (larger than the stored size for blurred
    /// previews, which hold no finer detail).
    pub display_width: u32,
    pub display_height: u32,
    /// Human-readable, exact description of how it was made.
    pub transform: String,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Sniffed from the content.
    pub media_type: &'static str,
    /// Stored pixel dimensions (from the header; present even when the
    /// pixel data is damaged).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub exif: Option<Exif>,
    /// Why EXIF could not be read, when there was a block that failed.
    pub exif_error: Option<String>,
    pub pdq: Option<Pdq>,
    #[serde(serialize_with = "ser_phash")]
    pub phash: Option<u64>,
    pub derivatives: Vec<Derivative>,
    /// Numbers read from the card in the picture ([`AnalyzeOptions::read_card`]).
    pub card: Option<CardNumbers>,
    /// Why the pixels could not be analysed (decode failure, unsupported
    /// format); `None` when everything requested was computed.
    pub error: Option<String>,
}

fn ser_phash<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(h) => s.serialize_some(&format!("{h:016x}")),
        None => s.serialize_none(),
    }
}

impl Analysis {
    fn empty(media_type: &'static str) -> Analysis {
        Analysis {
            media_type,
            width: None,
            height: None,
            exif: None,
            exif_error: None,
            pdq: None,
            phash: None,
            derivatives: Vec::new(),
            card: None,
            error: None,
        }
    }

    /// The derivative of `kind`, if made.
    pub fn derivative(&self, kind: DerivativeKind) -> Option<&Derivative> {
        self.derivatives.iter().find(|d| d.kind == kind)
    }
}

fn reduction_note(d: &Decoded) -> String {
    if d.reduction > 1 {
        format!(
            "from a 1/{} scale DCT decode ({}x{})",
            d.reduction, d.image.width, d.image.height
        )
    } else {
        format!(
            "from the full decode ({}x{})",
            d.image.width, d.image.height
        )
    }
}

/// `img` turned upright (no copy when it already is).
fn upright(img: &RgbImage, orientation: u16) -> Cow<'_, RgbImage> {
    if (2..=8).contains(&orientation) {
        Cow::Owned(ops::orient(img, orientation))
    } else {
        Cow::Borrowed(img)
    }
}

/// Resize `work` to the size that fits `full` into `max` x `max`.
fn fitted(work: &RgbImage, full: (u32, u32), max: u32) -> RgbImage {
    let (w, h) = ops::fit(full.0, full.1, max.max(1));
    ops::resize(work, w, h)
}

fn encode(
    img: &RgbImage,
    kind: DerivativeKind,
    quality: u8,
    transform: String,
) -> Result<Derivative, String> {
    Ok(Derivative {
        kind,
        bytes: ops::encode_jpeg(img, quality)?,
        media_type: sniff::JPEG,
        width: img.width,
        height: img.height,
        display_width: img.width,
        display_height: img.height,
        transform,
    })
}

/// Gaussian blur of sigma `frac` x the longest side of `levels[0]`,
/// computed on a copy halved (2 x 2 averages) until sigma is below 3 px
/// there. The result is returned at that smaller size: a blur this wide
/// leaves no detail the smaller image cannot hold, so it is stored small
/// and enlarged for display. Returns the image and the sigma used at its
/// size. `levels` holds the halvings made so far (the next blur reuses
/// them).
fn blur_preview(levels: &mut Vec<Cow<'_, RgbImage>>, frac: f32) -> (RgbImage, f32) {
    let long = levels[0].width.max(levels[0].height) as f32;
    let sigma = frac * long;
    let mut i = 0;
    let mut s = sigma;
    while s >= 3.0 && levels[i].width.min(levels[i].height) >= 32 {
        if levels.len() == i + 1 {
            let half = ops::halve(&levels[i]);
            levels.push(Cow::Owned(half));
        }
        i += 1;
        s = sigma * levels[i].width.max(levels[i].height) as f32 / long;
    }
    (ops::gaussian_blur(&levels[i], s), s)
}

/// The thumbnail and the two blurred previews of a decoded photo (the work
/// image of [`analyze`]), turned upright for EXIF `orientation`, with the
/// errors of those that could not be made. [`analyze`] calls it; public so
/// that `examples/derivatives` can time it alone.
// Not inlined: profilers measure it by name (`--toggle-collect`).
#[inline(never)]
pub fn derivatives(
    dec: &Decoded,
    orientation: u16,
    opts: &AnalyzeOptions,
) -> (Vec<Derivative>, Vec<String>) {
    let work = &dec.image;
    let full = (dec.full_width, dec.full_height);
    let note = reduction_note(dec);
    let mut out = Vec::new();
    let mut errs = Vec::new();
    let tmax = opts.thumbnail_max.min(MAX_THUMBNAIL);
    let thumb = fitted(work, full, tmax);
    let t = encode(
        &upright(&thumb, orientation),
        DerivativeKind::Thumbnail,
        opts.thumbnail_quality,
        format!(
            "thumbnail max {}px: resized to {}x{} (triangle filter) {note}, EXIF orientation {orientation} applied, JPEG q{} 4:2:0",
            tmax,
            thumb.width,
            thumb.height,
            opts.thumbnail_quality
        ),
    );
    match t {
        Ok(d) => out.push(d),
        Err(e) => errs.push(format!("thumbnail: {e}")),
    }
    let preview_max = opts.preview_max.min(MAX_PREVIEW);
    let base = if preview_max == tmax {
        thumb
    } else {
        fitted(work, full, preview_max)
    };
    let mut levels = vec![Cow::Borrowed(&base)];
    for (kind, frac, grade) in [
        (DerivativeKind::BlurMedium, opts.blur_medium, "medium"),
        (DerivativeKind::BlurStrong, opts.blur_strong, "strong"),
    ] {
        let (img, s) = blur_preview(&mut levels, frac);
        let sigma = frac * base.width.max(base.height) as f32;
        let shown = if (5..=8).contains(&orientation) {
            (base.height, base.width)
        } else {
            (base.width, base.height)
        };
        let transform = format!(
            "{grade} blur preview for display at {}x{}: gaussian blur sigma={sigma:.1}px ({:.1}% of the \
             longest side) of the {}x{} preview (resized, triangle filter, {note}); computed and stored \
             at {}x{} (2x2 averages, sigma={s:.2}px, {}; no finer detail survives the \
             blur, enlarge for display); EXIF orientation {orientation} applied, JPEG q{} 4:2:0",
            shown.0,
            shown.1,
            frac * 100.0,
            base.width,
            base.height,
            img.width,
            img.height,
            ops::blur_method(s),
            opts.preview_quality
        );
        match encode(
            &upright(&img, orientation),
            kind,
            opts.preview_quality,
            transform,
        ) {
            Ok(mut d) => {
                (d.display_width, d.display_height) = shown;
                out.push(d)
            }
            Err(e) => errs.push(format!("{}: {e}", kind.as_str())),
        }
    }
    (out, errs)
}

/// Smallest decode size that serves every requested output.
fn work_size(opts: &AnalyzeOptions) -> u32 {
    let mut s = 64; // PDQ and pHash work from 64 x 64 and 32 x 32
    if opts.hashes {
        // PDQ filters before decimating to 64 x 64; 256 px keeps the
        // filter window meaningful.
        s = s.max(256);
    }
    if opts.derivatives {
        // Blurred previews are computed at a smaller size anyway.
        s = s.max(opts.thumbnail_max);
    }
    if opts.read_card {
        // Enough to see whether a card may be there (see `card::may_show_card`).
        s = s.max(card::MIN_WIDTH / 2);
    }
    s
}

fn pixels_part(bytes: &[u8], a: &mut Analysis, opts: &AnalyzeOptions) {
    let want = work_size(opts);
    let orientation = a.exif.as_ref().and_then(|e| e.orientation).unwrap_or(1);
    let dec = match decode::decode_reduced(bytes, want) {
        Ok(d) => d,
        Err(e) => {
            a.error = Some(e.to_string());
            return;
        }
    };
    a.width = Some(dec.full_width);
    a.height = Some(dec.full_height);
    let work = &dec.image;
    if opts.hashes {
        let (luma, w, h) = pdq::hash_luma(work);
        a.pdq = pdq::pdq_from_luma(&luma, w, h);
        a.phash = Some(phash::phash_from_luma(&luma, w, h));
    }
    if opts.read_card {
        // Most photos show no card: only those the gate passes (about one in nine of the
        // photos without numbers in their names) are decoded again, larger, and read around
        // the places it found, only their luma there (the reader looks at nothing else).
        let hints = card::card_regions(work);
        if !hints.is_empty() {
            a.card = if work.width.max(work.height) >= card::MIN_WIDTH {
                card::read_card_near(work, &hints)
            } else {
                // The reader's fallback (the whole photo, for a card the regions missed)
                // needs the whole photo in full.
                decode::decode_reduced_grey_in(bytes, card::MIN_WIDTH, &hints)
                    .ok()
                    .and_then(|big| card::read_card_at(&big.image, &hints))
                    .or_else(|| {
                        decode::decode_reduced(bytes, card::MIN_WIDTH)
                            .ok()
                            .and_then(|big| card::read_card(&big.image))
                    })
            };
        }
    }
    if opts.derivatives {
        let (d, errs) = derivatives(&dec, orientation, opts);
        a.derivatives = d;
        if !errs.is_empty() {
            a.error = Some(errs.join("; "));
        }
    }
}

/// Analyse one file. Never panics; see [`Analysis::error`].
pub fn analyze(bytes: &[u8], opts: &AnalyzeOptions) -> Analysis {
    let media_type = sniff::sniff(bytes);
    let mut a = Analysis::empty(media_type);
    if !sniff::is_image(media_type) {
        a.error = Some(format!("not an image ({media_type})"));
        return a;
    }
    match std::panic::catch_unwind(|| exif::read_exif(bytes)) {
        Ok(Ok(e)) => a.exif = e,
        Ok(Err(e)) => a.exif_error = Some(e),
        Err(_) => a.exif_error = Some("EXIF reader failed (internal error)".into()),
    }
    if let Some((w, h)) = decode::dimensions(bytes) {
        a.width = Some(w);
        a.height = Some(h);
    }
    if !sniff::decodable(media_type) {
        a.error = Some(format!("no decoder for {media_type}"));
        return a;
    }
    let mut b = a.clone();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pixels_part(bytes, &mut b, opts);
        b
    })) {
        Ok(done) => done,
        Err(_) => {
            a.error = Some("image analysis failed (internal error)".into());
            a
        }
    }
}
