//! Media type sniffing by content (never by extension).

/// Media types this crate recognises. Only JPEG, PNG and TIFF are decoded;
/// the others are named so that callers can record them.
pub const JPEG: &str = "image/jpeg";
pub const PNG: &str = "image/png";
pub const TIFF: &str = "image/tiff";
pub const HEIC: &str = "image/heic";
pub const HEIF: &str = "image/heif";
pub const AVIF: &str = "image/avif";
pub const WEBP: &str = "image/webp";
pub const GIF: &str = "image/gif";
pub const BMP: &str = "image/bmp";
pub const PDF: &str = "application/pdf";
pub const OCTET: &str = "application/octet-stream";

/// The media type of `bytes`, from its leading bytes.
pub fn sniff(bytes: &[u8]) -> &'static str {
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        JPEG
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        PNG
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        TIFF
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        GIF
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        WEBP
    } else if b.starts_with(b"BM") && b.len() >= 14 {
        BMP
    } else if b.starts_with(b"%PDF-") {
        PDF
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        // ISO base media file: the major brand (and compatible brands) tell.
        let end =
            (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).clamp(12, b.len().min(64));
        let brands: Vec<&[u8]> = std::iter::once(&b[8..12])
            .chain(b[16.min(end)..end].chunks_exact(4))
            .collect();
        let has = |x: &[u8]| brands.contains(&x);
        if has(b"avif") || has(b"avis") {
            AVIF
        } else if has(b"heic") || has(b"heix") || has(b"heim") || has(b"heis") {
            HEIC
        } else if has(b"mif1") || has(b"msf1") {
            HEIF
        } else {
            OCTET
        }
    } else {
        OCTET
    }
}

/// Whether this crate can decode pixels of `media_type`.
pub fn decodable(media_type: &str) -> bool {
    matches!(media_type, JPEG | PNG | TIFF)
}

/// Whether `media_type` is an image (decodable or not).
pub fn is_image(media_type: &str) -> bool {
    media_type.starts_with("image/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE1xx"), JPEG);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), PNG);
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), TIFF);
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), TIFF);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), HEIC);
        assert_eq!(sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"), HEIC);
        assert_eq!(sniff(b"\0\0\0\x14ftypavif\0\0\0\0"), AVIF);
        assert_eq!(sniff(b"hello"), OCTET);
        assert_eq!(sniff(b""), OCTET);
        assert!(decodable(JPEG) && !decodable(HEIC));
    }
}
