//! A minimal, valid little-endian Exif APP1 payload.

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const UNDEFINED: u16 = 7;

/// What goes into the Exif block of one photo.
pub(crate) struct ExifInfo<'a> {
    pub make: &'a str,
    pub model: &'a str,
    pub software: Option<&'a str>,
    /// `YYYY:MM:DD HH:MM:SS`
    pub datetime: &'a str,
    pub subsec: &'a str,
    pub offset: &'a str,
    pub serial: &'a str,
    pub width: u32,
    pub height: u32,
}

struct Entry {
    tag: u16,
    typ: u16,
    count: u32,
    data: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        typ: ASCII,
        count: data.len() as u32,
        data,
    }
}

fn short(tag: u16, v: u16) -> Entry {
    Entry {
        tag,
        typ: SHORT,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        typ: LONG,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

fn rational(tag: u16, n: u32, d: u32) -> Entry {
    let mut data = n.to_le_bytes().to_vec();
    data.extend_from_slice(&d.to_le_bytes());
    Entry {
        tag,
        typ: RATIONAL,
        count: 1,
        data,
    }
}

fn padded(n: usize) -> usize {
    n + (n & 1)
}

/// Bytes an IFD with `entries` occupies, including its out-of-line values.
fn ifd_size(entries: &[Entry]) -> usize {
    2 + 12 * entries.len()
        + 4
        + entries
            .iter()
            .filter(|e| e.data.len() > 4)
            .map(|e| padded(e.data.len()))
            .sum::<usize>()
}

/// Append an IFD at `buf.len()` (which must equal its TIFF offset).
fn write_ifd(buf: &mut Vec<u8>, entries: &mut [Entry], next: u32) {
    entries.sort_by_key(|e| e.tag);
    let start = buf.len();
    let mut data_off = start + 2 + 12 * entries.len() + 4;
    let mut tail = Vec::new();
    buf.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries.iter() {
        buf.extend_from_slice(&e.tag.to_le_bytes());
        buf.extend_from_slice(&e.typ.to_le_bytes());
        buf.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut v = [0u8; 4];
            v[..e.data.len()].copy_from_slice(&e.data);
            buf.extend_from_slice(&v);
        } else {
            buf.extend_from_slice(&(data_off as u32).to_le_bytes());
            tail.extend_from_slice(&e.data);
            if e.data.len() & 1 == 1 {
                tail.push(0);
            }
            data_off += padded(e.data.len());
        }
    }
    buf.extend_from_slice(&next.to_le_bytes());
    buf.extend_from_slice(&tail);
}

/// The APP1 payload: `Exif\0\0` followed by a little-endian TIFF structure
/// (IFD0 + Exif IFD, no thumbnail).
pub(crate) fn build(info: &ExifInfo) -> Vec<u8> {
    let mut ifd0 = vec![
        ascii(0x010F, info.make),
        ascii(0x0110, info.model),
        short(0x0112, 1), // Orientation: top-left
        rational(0x011A, 72, 1),
        rational(0x011B, 72, 1),
        short(0x0128, 2), // inches
        ascii(0x0132, info.datetime),
        short(0x0213, 2), // YCbCrPositioning: co-sited
        long(0x8769, 0),  // ExifIFD pointer, patched below
    ];
    if let Some(sw) = info.software {
        ifd0.push(ascii(0x0131, sw));
    }
    let exif_off = 8 + ifd_size(&ifd0);
    ifd0.iter_mut()
        .find(|e| e.tag == 0x8769)
        .expect("pointer entry")
        .data = (exif_off as u32).to_le_bytes().to_vec();
    let mut exif_ifd = vec![
        Entry {
            tag: 0x9000,
            typ: UNDEFINED,
            count: 4,
            data: b"0231".to_vec(),
        },
        Entry {
            tag: 0x9101, // ComponentsConfiguration: Y Cb Cr -
            typ: UNDEFINED,
            count: 4,
            data: vec![1, 2, 3, 0],
        },
        Entry {
            tag: 0xA000, // FlashpixVersion
            typ: UNDEFINED,
            count: 4,
            data: b"0100".to_vec(),
        },
        ascii(0x9003, info.datetime),
        ascii(0x9004, info.datetime),
        ascii(0x9011, info.offset),
        ascii(0x9291, info.subsec),
        ascii(0x9292, info.subsec),
        short(0xA001, 1), // sRGB
        long(0xA002, info.width),
        long(0xA003, info.height),
        ascii(0xA431, info.serial),
    ];
    let mut buf = b"Exif\0\0".to_vec();
    let mut tiff = Vec::with_capacity(512);
    tiff.extend_from_slice(b"II");
    tiff.extend_from_slice(&42u16.to_le_bytes());
    tiff.extend_from_slice(&8u32.to_le_bytes());
    write_ifd(&mut tiff, &mut ifd0, 0);
    debug_assert_eq!(tiff.len(), exif_off);
    write_ifd(&mut tiff, &mut exif_ifd, 0);
    buf.extend_from_slice(&tiff);
    buf
}

/// The byte range of an encoder output that follows SOI and the JFIF APP0
/// segment (which a camera would not write; the Exif APP1 replaces it).
pub(crate) fn after_app0(jpeg: &[u8]) -> std::ops::Range<usize> {
    assert!(
        jpeg.len() > 4 && jpeg[0] == 0xFF && jpeg[1] == 0xD8,
        "not a JPEG"
    );
    let mut start = 2;
    if jpeg[2] == 0xFF && jpeg[3] == 0xE0 {
        start += 2 + u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    }
    start..jpeg.len()
}

/// The complete APP1 segment (marker, length, payload).
pub(crate) fn segment(payload: &[u8]) -> Vec<u8> {
    let seg_len = payload.len() + 2;
    assert!(seg_len <= 0xFFFF, "Exif segment too large");
    let mut out = Vec::with_capacity(seg_len + 2);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(seg_len as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_consistent() {
        let p = build(&ExifInfo {
            make: "NIKON",
            model: "COOLPIX P50",
            software: Some("x"),
            datetime: "2012:05:03 10:12:33",
            subsec: "07",
            offset: "+03:00",
            serial: "4012786",
            width: 1600,
            height: 1200,
        });
        assert_eq!(&p[..6], b"Exif\0\0");
        let t = &p[6..];
        assert_eq!(&t[..4], b"II*\0");
        let n0 = u16::from_le_bytes([t[8], t[9]]) as usize;
        assert_eq!(n0, 10);
        // Tags sorted ascending.
        let tags: Vec<u16> = (0..n0)
            .map(|i| u16::from_le_bytes([t[10 + 12 * i], t[11 + 12 * i]]))
            .collect();
        assert!(tags.windows(2).all(|w| w[0] < w[1]));
        // Make value points at "NIKON\0".
        let off = u32::from_le_bytes(t[18..22].try_into().unwrap()) as usize;
        assert_eq!(&t[off..off + 6], b"NIKON\0");
    }
}
