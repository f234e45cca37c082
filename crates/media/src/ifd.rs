//! A minimal, bounds-checked TIFF IFD walker for maker notes (which
//! kamadak-exif leaves as opaque bytes). Only what is needed to find the
//! body serial number of a few makes.

#[derive(Clone, Copy)]
struct Ifd<'a> {
    /// Buffer that offsets are relative to.
    base: &'a [u8],
    le: bool,
}

struct Entry<'a> {
    tag: u16,
    typ: u16,
    count: u32,
    /// The value bytes (inline or at the pointed-to offset).
    data: &'a [u8],
    /// The raw 4-byte value/offset field, as a number.
    raw: u32,
}

fn type_size(t: u16) -> usize {
    match t {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

impl<'a> Ifd<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.base.get(at..at + 2)?;
        Some(if self.le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.base.get(at..at + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    /// Entries of the IFD at `off` (at most 1000; a damaged count stops early).
    fn entries(&self, off: usize) -> Vec<Entry<'a>> {
        let mut out = Vec::new();
        let Some(n) = self.u16(off) else { return out };
        for i in 0..(n as usize).min(1000) {
            let at = off + 2 + 12 * i;
            let (Some(tag), Some(typ), Some(count), Some(raw)) = (
                self.u16(at),
                self.u16(at + 2),
                self.u32(at + 4),
                self.u32(at + 8),
            ) else {
                break;
            };
            let len = type_size(typ).saturating_mul(count as usize);
            let data = if len <= 4 {
                self.base.get(at + 8..at + 8 + len)
            } else {
                self.base
                    .get(raw as usize..(raw as usize).saturating_add(len))
            };
            if let Some(data) = data {
                out.push(Entry {
                    tag,
                    typ,
                    count,
                    data,
                    raw,
                });
            }
        }
        out
    }

    fn find(&self, off: usize, tag: u16) -> Option<Entry<'a>> {
        self.entries(off).into_iter().find(|e| e.tag == tag)
    }
}

fn ascii(data: &[u8]) -> Option<String> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let s = String::from_utf8_lossy(&data[..end]);
    let s = s.trim_end();
    (!s.is_empty()).then(|| s.to_string())
}

fn byte_order(b: &[u8]) -> Option<bool> {
    match b.get(..2)? {
        b"II" => Some(true),
        b"MM" => Some(false),
        _ => None,
    }
}

/// The serial number in a maker note, for the makes we know:
///
/// * Olympus (`OLYMPUS\0II`): `Equipment` IFD (0x2010) tag 0x0101;
///   older `OLYMP\0` notes: tag 0x0404, or the Equipment IFD.
/// * Nikon (type 3, `Nikon\0` + TIFF header): tag 0x001D.
/// * Canon: tag 0x000C (a number, printed with ten digits as exiftool does).
///
/// `mn` is the maker note, `mn_off` its offset in `tiff` (the Exif TIFF
/// structure), `le` the byte order of `tiff`.
pub(crate) fn makernote_serial(
    make: &str,
    mn: &[u8],
    mn_off: usize,
    tiff: &[u8],
    le: bool,
) -> Option<String> {
    if mn.starts_with(b"OLYMPUS\0") {
        let ifd = Ifd {
            base: mn,
            le: byte_order(mn.get(8..)?)?,
        };
        let eq = ifd.find(12, 0x2010)?;
        ifd.find(eq.raw as usize, 0x0101)
            .and_then(|e| ascii(e.data))
    } else if mn.starts_with(b"OLYMP\0") || mn.starts_with(b"OM SYSTEM\0") {
        let ifd = Ifd { base: tiff, le };
        let start = mn_off + if mn.starts_with(b"OLYMP\0") { 8 } else { 16 };
        if let Some(e) = ifd.find(start, 0x0404) {
            return ascii(e.data);
        }
        let eq = ifd.find(start, 0x2010)?;
        if eq.typ == 7 {
            // Equipment stored as a blob: an IFD with offsets relative to it.
            let sub = Ifd { base: eq.data, le };
            sub.find(0, 0x0101).and_then(|e| ascii(e.data))
        } else {
            ifd.find(eq.raw as usize, 0x0101)
                .and_then(|e| ascii(e.data))
        }
    } else if mn.starts_with(b"Nikon\0") {
        let t = mn.get(10..)?;
        let ifd = Ifd {
            base: t,
            le: byte_order(t)?,
        };
        let first = ifd.u32(4)? as usize;
        ifd.find(first, 0x001D).and_then(|e| ascii(e.data))
    } else if make.to_ascii_lowercase().starts_with("canon") {
        let ifd = Ifd { base: tiff, le };
        let e = ifd.find(mn_off, 0x000C)?;
        if e.typ != 4 || e.count != 1 {
            return None;
        }
        let b = e.data.get(..4)?;
        let b = [b[0], b[1], b[2], b[3]];
        let v = if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        };
        Some(format!("{v:010}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le_ifd(entries: &[(u16, u16, u32, [u8; 4])]) -> Vec<u8> {
        let mut v = (entries.len() as u16).to_le_bytes().to_vec();
        for (tag, typ, count, val) in entries {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&typ.to_le_bytes());
            v.extend_from_slice(&count.to_le_bytes());
            v.extend_from_slice(val);
        }
        v.extend_from_slice(&0u32.to_le_bytes());
        v
    }

    #[test]
    fn olympus_equipment_serial() {
        let mut mn = b"OLYMPUS\0II\x03\x00".to_vec();
        // Main IFD at 12 with one entry pointing at the Equipment IFD.
        let main_len = 2 + 12 + 4;
        let eq_off = (12 + main_len) as u32;
        mn.extend(le_ifd(&[(0x2010, 13, 1, eq_off.to_le_bytes())]));
        let str_off = eq_off + 2 + 12 + 4;
        mn.extend(le_ifd(&[(0x0101, 2, 12, str_off.to_le_bytes())]));
        mn.extend_from_slice(b"F7050174    ");
        assert_eq!(
            makernote_serial("OLYMPUS", &mn, 0, &[], true).as_deref(),
            Some("F7050174")
        );
        // Truncated: no panic, no answer.
        for n in 0..mn.len() {
            let _ = makernote_serial("OLYMPUS", &mn[..n], 0, &[], true);
        }
    }

    #[test]
    fn garbage_is_harmless() {
        let junk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for make in ["Canon", "NIKON", "OLYMPUS"] {
            let _ = makernote_serial(make, &junk, 3, &junk, true);
            let _ = makernote_serial(make, &junk, 3, &junk, false);
        }
    }
}
