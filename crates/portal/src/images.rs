//! Images for graded viewing, decrypted from the vault into memory and never written to
//! disk. The label close-up has no stored derivative yet: it is cut on the fly from the
//! original, where the media crate's card reader finds the card, and kept in memory.

use std::io::Read;
use std::sync::Arc;

use athar_catalog::Photos;
use athar_media::{card, decode_reduced, ops};

use crate::{App, PortalError, Result};

/// Label crops kept in memory (about 30 KB each).
const CROP_CACHE: usize = 2000;

pub fn original(app: &App, sha256: &str) -> Result<Vec<u8>> {
    let vault = app.vault();
    let mut reader = vault.open_object(sha256)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| PortalError::Setup(format!("reading object {sha256}: {e}")))?;
    Ok(bytes)
}

/// A stored derivative of `kind` ("blur_strong", "thumbnail" …) of an original.
pub fn derivative(app: &App, original_sha: &str, kind: &str) -> Result<Vec<u8>> {
    let derived = app.catalogs.get().derivatives(original_sha)?;
    let (_, sha, _) = derived
        .into_iter()
        .find(|(k, _, _)| k == kind)
        .ok_or(PortalError::NotFound)?;
    original(app, &sha)
}

/// The card with the body's numbers, cut from the original with a margin, as JPEG.
pub fn label_crop(app: &App, sha256: &str) -> Result<Vec<u8>> {
    if let Some(c) = app.label_crops.lock().expect("crop cache").get(sha256) {
        return Ok(c.as_ref().clone());
    }
    let bytes = original(app, sha256)?;
    let crop = crop_label(&bytes).ok_or(PortalError::NotFound)?;
    let mut cache = app.label_crops.lock().expect("crop cache");
    if cache.len() >= CROP_CACHE {
        cache.clear();
    }
    cache.insert(sha256.to_string(), Arc::new(crop.clone()));
    Ok(crop)
}

/// Find the card and cut its bounding box plus a quarter on each side.
pub fn crop_label(bytes: &[u8]) -> Option<Vec<u8>> {
    let dec = decode_reduced(bytes, card::MIN_WIDTH).ok()?;
    let img = &dec.image;
    let found = athar_media::read_card(img)?;
    let xs = found.corners.map(|c| c.0);
    let ys = found.corners.map(|c| c.1);
    let (x0, x1) = (
        xs.iter().cloned().fold(f32::MAX, f32::min),
        xs.iter().cloned().fold(f32::MIN, f32::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f32::MAX, f32::min),
        ys.iter().cloned().fold(f32::MIN, f32::max),
    );
    let (mx, my) = ((x1 - x0) * 0.25, (y1 - y0) * 0.25);
    let x = (x0 - mx).max(0.0) as u32;
    let y = (y0 - my).max(0.0) as u32;
    let w = ((x1 + mx) as u32).min(img.width).saturating_sub(x);
    let h = ((y1 + my) as u32).min(img.height).saturating_sub(y);
    if w < 8 || h < 8 {
        return None;
    }
    ops::encode_jpeg(&ops::crop(img, x, y, w, h), 85).ok()
}
