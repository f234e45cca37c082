//! Media type by content, never by file name.

/// The IANA media type of a file from its first bytes.
pub fn media_type(head: &[u8]) -> &'static str {
    match infer::get(head) {
        Some(t) => t.mime_type(),
        None if head.is_empty() => "application/x-empty",
        None if std::str::from_utf8(head).is_ok() => "text/plain",
        None => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            super::media_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            "image/jpeg"
        );
        assert_eq!(
            super::media_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            "image/png"
        );
        assert_eq!(super::media_type(b""), "application/x-empty");
        assert_eq!(super::media_type(b"hello"), "text/plain");
    }
}
