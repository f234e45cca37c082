//! The JPEG's own structure: quantization tables (DQT), frame size and chroma sampling (SOF),
//! read from the marker segments, and the IJG quality the luminance table corresponds to.
//!
//! A camera model writes the same tables every time; a photo re-saved by an editor gets the
//! editor's. So the tables are compared per model, not against a fixed list.

use serde::Serialize;

// The Annex K tables, libjpeg's quality scaling and the zig-zag order are the encoder's.
use athar_media::jpeg_encode::{ijg_table, ANNEX_K_CHROMA, ANNEX_K_LUMA, ZIGZAG};

/// What the marker segments say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JpegTables {
    /// Quantization tables by id (0-3), natural order; `None` where absent.
    #[serde(skip)]
    pub tables: [Option<[u16; 64]>; 4],
    /// Frame size from SOF.
    pub width: u32,
    pub height: u32,
    /// Sampling factors (h, v) of each component, in frame order.
    pub sampling: Vec<(u8, u8)>,
    /// Quantization table id of each component.
    #[serde(skip)]
    pub table_of_component: Vec<u8>,
}

/// An estimate of the IJG (libjpeg `-quality`) setting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// 1-100.
    pub quality: u8,
    /// True when the tables equal the IJG-scaled Annex K tables at that quality exactly;
    /// false when they are merely closest (a camera's own, non-IJG tables).
    pub exact: bool,
    /// Mean absolute difference per coefficient from the IJG tables at `quality`.
    pub distance: f32,
}

impl JpegTables {
    /// Chroma subsampling as the usual J:a:b name, from the first component's factors
    /// relative to the others.
    pub fn subsampling(&self) -> String {
        match self.sampling.as_slice() {
            [(h, v), rest @ ..] if !rest.is_empty() => {
                let (h, v) = (*h, *v);
                let (ch, cv) = rest[0];
                match (h / ch.max(1), v / cv.max(1)) {
                    (1, 1) => "4:4:4".into(),
                    (2, 1) => "4:2:2".into(),
                    (2, 2) => "4:2:0".into(),
                    (4, 1) => "4:1:1".into(),
                    (a, b) => format!("{a}x{b}"),
                }
            }
            [_] => "grey".into(),
            _ => "?".into(),
        }
    }

    /// The luminance table (that of the first component).
    pub fn luma(&self) -> Option<&[u16; 64]> {
        let id = *self.table_of_component.first()? as usize;
        self.tables.get(id)?.as_ref()
    }

    /// The chrominance table (that of the second component), if any.
    pub fn chroma(&self) -> Option<&[u16; 64]> {
        let id = *self.table_of_component.get(1)? as usize;
        self.tables.get(id)?.as_ref()
    }

    /// A short fingerprint of all tables in use, to compare two files' tables exactly.
    pub fn signature(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for t in [self.luma(), self.chroma()].into_iter().flatten() {
            for &v in t {
                h = (h ^ v as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }

    /// The IJG quality whose scaled Annex K tables are nearest to ours.
    pub fn quality(&self) -> Option<Quality> {
        let luma = self.luma()?;
        let chroma = self.chroma();
        let mut best: Option<Quality> = None;
        for q in 1..=100u8 {
            let mut diff = table_distance(luma, &ijg_table(&ANNEX_K_LUMA, q));
            let mut n = 64.0;
            if let Some(c) = chroma {
                diff += table_distance(c, &ijg_table(&ANNEX_K_CHROMA, q));
                n += 64.0;
            }
            let cand = Quality {
                quality: q,
                exact: diff == 0,
                distance: diff as f32 / n,
            };
            if best.is_none_or(|b| cand.distance < b.distance) {
                best = Some(cand);
            }
        }
        best
    }
}

fn table_distance(a: &[u16; 64], b: &[u16; 64]) -> u32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as i32 - y as i32).unsigned_abs())
        .sum()
}

/// The Annex K luminance table scaled to `quality` (for tests and the report's method text).
pub fn ijg_luma(quality: u8) -> [u16; 64] {
    ijg_table(&ANNEX_K_LUMA, quality)
}

/// Read DQT and SOF segments up to the first SOS. `None` when this is not a JPEG or has no
/// frame header before the scan.
pub fn read(bytes: &[u8]) -> Option<JpegTables> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return None;
    }
    let mut t = JpegTables {
        tables: [None; 4],
        width: 0,
        height: 0,
        sampling: Vec::new(),
        table_of_component: Vec::new(),
    };
    let mut have_frame = false;
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if len < 2 || i + 2 + len > bytes.len() {
            return None;
        }
        let seg = &bytes[i + 4..i + 2 + len];
        match marker {
            0xDB => read_dqt(seg, &mut t.tables)?,
            // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                read_sof(seg, &mut t)?;
                have_frame = true;
            }
            0xDA | 0xD9 => break,
            _ => {}
        }
        i += 2 + len;
    }
    have_frame.then_some(t)
}

fn read_dqt(mut seg: &[u8], tables: &mut [Option<[u16; 64]>; 4]) -> Option<()> {
    while !seg.is_empty() {
        let (precision, id) = (seg[0] >> 4, (seg[0] & 15) as usize);
        let n = if precision == 0 { 64 } else { 128 };
        if id > 3 || seg.len() < 1 + n {
            return None;
        }
        let mut table = [0u16; 64];
        for (k, &pos) in ZIGZAG.iter().enumerate() {
            table[pos as usize] = if precision == 0 {
                seg[1 + k] as u16
            } else {
                u16::from_be_bytes([seg[1 + 2 * k], seg[2 + 2 * k]])
            };
        }
        tables[id] = Some(table);
        seg = &seg[1 + n..];
    }
    Some(())
}

fn read_sof(seg: &[u8], t: &mut JpegTables) -> Option<()> {
    if seg.len() < 6 {
        return None;
    }
    t.height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
    t.width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
    let n = seg[5] as usize;
    if seg.len() < 6 + 3 * n {
        return None;
    }
    t.sampling.clear();
    t.table_of_component.clear();
    for c in 0..n {
        let f = seg[6 + 3 * c + 1];
        t.sampling.push((f >> 4, f & 15));
        t.table_of_component.push(seg[6 + 3 * c + 2]);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(quality: u8, sampling: jpeg_encoder::SamplingFactor) -> Vec<u8> {
        let (w, h) = (48u16, 32u16);
        let px: Vec<u8> = (0..w as usize * h as usize * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
        enc.set_sampling_factor(sampling);
        enc.encode(&px, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
        out
    }

    #[test]
    fn reads_the_quality_an_ijg_encoder_used() {
        for q in [50, 75, 88, 89, 90, 91, 92, 95] {
            let t = read(&encode(q, jpeg_encoder::SamplingFactor::R_4_2_0)).unwrap();
            let est = t.quality().unwrap();
            assert_eq!((est.quality, est.exact), (q, true), "quality {q}");
            assert_eq!((t.width, t.height), (48, 32));
            assert_eq!(t.subsampling(), "4:2:0");
            assert_eq!(t.luma(), Some(&ijg_luma(q)));
        }
        let t = read(&encode(90, jpeg_encoder::SamplingFactor::R_4_2_2)).unwrap();
        assert_eq!(t.subsampling(), "4:2:2");
    }

    #[test]
    fn a_non_ijg_table_is_closest_not_exact() {
        let mut bytes = encode(90, jpeg_encoder::SamplingFactor::R_4_2_0);
        // Change one luminance coefficient inside the first DQT segment.
        let at = bytes.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
        bytes[at + 5 + 10] += 1;
        let est = read(&bytes).unwrap().quality().unwrap();
        assert_eq!(est.quality, 90);
        assert!(!est.exact && est.distance > 0.0);
    }

    #[test]
    fn not_a_jpeg() {
        assert!(read(b"\x89PNG\r\n\x1a\n....").is_none());
        assert!(read(&[0xFF, 0xD8, 0xFF]).is_none());
    }
}
