//! A small, fast decoder for the common case — baseline (sequential,
//! Huffman, 8-bit) JPEG with one interleaved scan of 1 or 3 components — at
//! 1/2, 1/4 or 1/8 scale. It entropy-decodes every block but keeps only the
//! low-frequency coefficients it needs and turns each 8 x 8 block into
//! 4 x 4, 2 x 2 or 1 x 1 pixels, each the average of the (low-pass) block
//! over its area. That is several times faster than a full decode followed
//! by resizing, and runs on the calling thread.
//!
//! A decode can also give only the luma inside given regions
//! ([`decode_grey_in`]), for the card reader.
//!
//! Speed comes from three things: the scan is first copied with its stuffed
//! zero bytes removed and split at restart markers, so the bit reader refills
//! 8 bytes at a time without looking for markers (branch-free); one table
//! lookup resolves a whole AC step (code, run and extra bits) for most
//! symbols; and past the last kept coefficient of a block only the length
//! and run of each symbol are needed.
//!
//! Everything else (progressive, arithmetic, 12-bit, CMYK, several scans)
//! returns [`Error::Unsupported`] and the caller falls back to a full
//! decoder. All reads are bounds-checked; damaged data gives
//! [`Error::Corrupt`].

use std::f64::consts::PI;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// Valid JPEG this decoder does not handle.
    Unsupported(&'static str),
    /// Damaged or truncated data.
    Corrupt(String),
}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::Corrupt(msg.into()))
}

/// Zigzag order: `ZIGZAG[k]` is the row-major index of the k-th coefficient (decoder and
/// encoder).
pub const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Bits of lookahead for the DC code and step tables.
const DC_BITS: u32 = 9;
/// Bits of lookahead for the AC step, skip and value-pair tables (11 measured
/// best: 10 resolves fewer steps, 12 was no faster and doubles the tables).
const AC_BITS: u32 = 11;

// One AC step table entry, a u32:
//   bits 0..5   bits consumed (code + extra bits)
//   bit  5      SLOW: the code is longer than AC_BITS (nothing else valid)
//   bit  6      PARTIAL: code fits but not its extra bits (value not valid)
//   bit  7      COEF: a coefficient (clear for EOB and ZRL)
//   bits 8..15  advance of the zigzag index: run + 1, 16 for ZRL, 64 for EOB
//   bits 16..32 the coefficient value (i16)
//   (bit 15: ERROR, only from the slow path; see below)
const LEN_MASK: u32 = 31;
const SLOW: u32 = 1 << 5;
const PARTIAL: u32 = 1 << 6;
const COEF: u32 = 1 << 7;
// Damaged data, from the slow path only (never in a table): an invalid code
// and an AC size over 10. Both end any loop (advance 64).
const ERROR: u32 = 1 << 15;
const BAD_CODE: u32 = ERROR | (64 << 8);
const AC_SIZE: u32 = ERROR | (64 << 8) | 1;
const DC_SIZE: u32 = ERROR | (64 << 8) | 2;

fn ac_entry(len: u32, rs: u8, value: i32) -> u32 {
    let (run, size) = ((rs >> 4) as u32, (rs & 15) as u32);
    let (adv, coef) = match (run, size) {
        (0, 0) => (64, 0),
        (15, 0) => (16, 0),
        (_, 0) => (64, 0), // undefined in baseline; treated as EOB like libjpeg
        _ => (run + 1, COEF),
    };
    len | coef | (adv << 8) | ((value as i16 as u16 as u32) << 16)
}

/// A value-pair entry (u64) holding the one step `e` (a step entry):
///   bits 0..5   bits consumed by both steps
///   bit 5/6     SLOW / PARTIAL (first step not resolved; nothing else valid)
///   bits 8..15  advance of the first step, bits 16..32 its value
///   bits 32..39 advance of the second step (0: none), bits 48..64 its value
/// EOB and ZRL steps carry the value 0.
fn pair_entry(e: u32) -> u64 {
    let value = if e & COEF != 0 { e >> 16 } else { 0 };
    (e & LEN_MASK) as u64 | (e & 0x7F00) as u64 | (value as u64) << 16
}

/// EXTEND (T.81 F.12): the `size`-bit value `v` as a signed coefficient.
#[inline(always)]
fn extend(v: u32, size: u32) -> i32 {
    let v = v as i32;
    if size == 0 {
        0
    } else if v < (1 << (size - 1)) {
        v - (1 << size) + 1
    } else {
        v
    }
}

#[derive(Clone)]
struct Huffman {
    /// `(length << 8) | symbol` for codes of at most DC_BITS bits, 0 else.
    lut: Box<[u16; 1 << DC_BITS]>,
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman, Error> {
        let mut h = Huffman {
            lut: Box::new([0; 1 << DC_BITS]),
            maxcode: [-1; 18],
            valptr: [0; 17],
            mincode: [0; 17],
            values: values.to_vec(),
        };
        let mut code: i32 = 0;
        let mut k: i32 = 0;
        for len in 1..=16usize {
            let n = counts[len - 1] as i32;
            h.valptr[len] = k;
            h.mincode[len] = code;
            if n > 0 {
                if (code + n) as u32 > (1u32 << len) {
                    return corrupt("JPEG: invalid Huffman table");
                }
                for i in 0..n {
                    if len as u32 <= DC_BITS {
                        let c = (code + i) as usize;
                        let shift = DC_BITS as usize - len;
                        let sym = *values.get((k + i) as usize).unwrap_or(&0) as u16;
                        for j in 0..(1usize << shift) {
                            h.lut[(c << shift) | j] = ((len as u16) << 8) | sym;
                        }
                    }
                }
                code += n;
                k += n;
                h.maxcode[len] = code - 1;
            }
            code <<= 1;
        }
        h.maxcode[17] = i32::MAX;
        Ok(h)
    }

    /// The symbol whose code starts the top of `bits` (MSB first, at least
    /// 16 valid bits), and the code length; `None` for an invalid code.
    #[inline(always)]
    fn symbol(&self, bits: u64) -> Option<(u32, u8)> {
        let e = self.lut[(bits >> (64 - DC_BITS)) as usize];
        if e != 0 {
            return Some(((e >> 8) as u32, e as u8));
        }
        self.symbol_long(bits)
    }

    #[cold]
    #[inline(never)]
    fn symbol_long(&self, bits: u64) -> Option<(u32, u8)> {
        let v = (bits >> 48) as i32;
        for len in (DC_BITS as usize + 1)..=16 {
            let code = v >> (16 - len);
            if code <= self.maxcode[len] {
                let i = self.valptr[len] + code - self.mincode[len];
                return self.values.get(i as usize).map(|&s| (len as u32, s));
            }
        }
        None
    }

    /// The AC step table (see [`ac_entry`]), `1 << AC_BITS` entries.
    fn ac_table(&self) -> Box<[u32; 1 << AC_BITS]> {
        let mut t = Box::new([SLOW; 1 << AC_BITS]);
        for len in 1..=AC_BITS {
            let l = len as usize;
            if self.maxcode[l] < 0 {
                continue;
            }
            for c in self.mincode[l]..=self.maxcode[l] {
                let i = (self.valptr[l] + c - self.mincode[l]) as usize;
                let Some(&rs) = self.values.get(i) else {
                    continue; // stays SLOW: the slow path reports it
                };
                let size = (rs & 15) as u32;
                let shift = AC_BITS - len;
                for j in 0..(1u32 << shift) {
                    let p = ((c as u32) << shift) | j;
                    t[p as usize] = if size > 10 {
                        SLOW
                    } else if len + size <= AC_BITS {
                        let v = (p >> (AC_BITS - len - size)) & ((1 << size) - 1);
                        ac_entry(len + size, rs, extend(v, size))
                    } else {
                        ac_entry(len + size, rs, 0) | PARTIAL
                    };
                }
            }
        }
        t
    }

    /// The DC step table: `len | value << 16` where the code and its
    /// extra bits fit in DC_BITS, SLOW elsewhere.
    fn dc_table(&self) -> Box<[u32; 1 << DC_BITS]> {
        let mut t = Box::new([SLOW; 1 << DC_BITS]);
        for (p, e) in t.iter_mut().enumerate() {
            let l = self.lut[p];
            if l == 0 {
                continue;
            }
            let (len, size) = ((l >> 8) as u32, (l & 0xFF) as u32);
            if size <= 11 && len + size <= DC_BITS {
                let v = (p as u32 >> (DC_BITS - len - size)) & ((1 << size) - 1);
                *e = (len + size) | ((extend(v, size) as i16 as u16 as u32) << 16);
            }
        }
        t
    }

    /// A DC step entry decoded from the top of `bits` (at least 27 valid
    /// bits); [`BAD_CODE`] or [`DC_SIZE`] for damaged data.
    fn dc_slow(&self, bits: u64) -> u32 {
        let Some((len, size)) = self.symbol(bits) else {
            return BAD_CODE;
        };
        let size = size as u32;
        if size > 11 {
            return DC_SIZE;
        }
        let v = if size == 0 {
            0
        } else {
            ((bits << len) >> (64 - size)) as u32
        };
        (len + size) | ((extend(v, size) as i16 as u16 as u32) << 16)
    }

    /// The value-pair table for kept coefficients: up to two steps (the
    /// second only where both fit in AC_BITS bits and the first is not an
    /// EOB), with their values: see [`pair_entry`].
    fn pair_table(step: &[u32; 1 << AC_BITS]) -> Box<[u64; 1 << AC_BITS]> {
        let mut t = Box::new([0u64; 1 << AC_BITS]);
        let mask = (1u32 << AC_BITS) - 1;
        for (p, e) in t.iter_mut().enumerate() {
            let e1 = step[p];
            if e1 & (SLOW | PARTIAL) != 0 {
                *e = SLOW as u64;
                continue;
            }
            let len1 = e1 & LEN_MASK;
            *e = pair_entry(e1);
            if (e1 >> 8) & 0x7F < 64 && len1 < AC_BITS {
                let e2 = step[((p as u32) << len1 & mask) as usize];
                let len2 = e2 & LEN_MASK;
                if e2 & (SLOW | PARTIAL) == 0 && len1 + len2 <= AC_BITS {
                    *e = (*e & !(LEN_MASK as u64))
                        | (len1 + len2) as u64
                        | (((e2 >> 8) & 0x7F) as u64) << 32
                        | ((e2 >> 16) as u64) << 48;
                }
            }
        }
        t
    }

    /// The skip table: like the step table without values, but resolving
    /// two steps in one lookup where both fit in AC_BITS bits (never past
    /// an EOB). `COEF` tells whether the last step is a coefficient.
    fn skip_table(step: &[u32; 1 << AC_BITS]) -> Box<[u16; 1 << AC_BITS]> {
        let mut t = Box::new([0u16; 1 << AC_BITS]);
        let mask = (1u32 << AC_BITS) - 1;
        for (p, e) in t.iter_mut().enumerate() {
            let e1 = step[p];
            if e1 & (SLOW | PARTIAL) != 0 {
                *e = SLOW as u16;
                continue;
            }
            let (len1, adv1) = (e1 & LEN_MASK, (e1 >> 8) & 0x7F);
            let mut out = len1 | (e1 & COEF) | (adv1 << 8);
            if adv1 < 64 && len1 < AC_BITS {
                let e2 = step[((p as u32) << len1 & mask) as usize];
                let len2 = e2 & LEN_MASK;
                if e2 & (SLOW | PARTIAL) == 0 && len1 + len2 <= AC_BITS {
                    let adv2 = (e2 >> 8) & 0x7F;
                    out = (len1 + len2) | (e2 & COEF) | ((adv1 + adv2) << 8);
                }
            }
            *e = out as u16;
        }
        t
    }

    /// A complete AC step entry decoded from the top of `bits` (at least 26
    /// valid bits), for the steps the table does not resolve; [`BAD_CODE`]
    /// or [`AC_SIZE`] for damaged data.
    #[cold]
    #[inline(never)]
    fn ac_slow(&self, bits: u64) -> u32 {
        let Some((len, rs)) = self.symbol(bits) else {
            return BAD_CODE;
        };
        let size = (rs & 15) as u32;
        if size > 10 {
            return AC_SIZE;
        }
        let v = if size == 0 {
            0
        } else {
            ((bits << len) >> (64 - size)) as u32
        };
        ac_entry(len + size, rs, extend(v, size))
    }
}

/// The entropy-coded data of the scan with stuffed zero bytes removed,
/// split at restart markers, and zero-padded so reads never run off it.
struct Scan {
    data: Vec<u8>,
    /// `(start, end, marker that ended it)`; `None` = end of the file.
    segments: Vec<(usize, usize, Option<u8>)>,
}

impl Scan {
    fn new(data: &[u8], start: usize, pad: usize) -> Scan {
        let rest = data.get(start..).unwrap_or(&[]);
        let mut out = Vec::with_capacity(rest.len() + pad);
        let mut segments = Vec::new();
        let mut seg_start = 0;
        let mut i = 0;
        let stop = loop {
            let Some(j) = memchr::memchr(0xFF, &rest[i..]) else {
                out.extend_from_slice(&rest[i..]);
                break None;
            };
            out.extend_from_slice(&rest[i..i + j]);
            i += j;
            match rest.get(i + 1) {
                None => break None,
                Some(0x00) => {
                    out.push(0xFF);
                    i += 2;
                }
                Some(0xFF) => i += 1, // fill byte
                Some(&m @ 0xD0..=0xD7) => {
                    segments.push((seg_start, out.len(), Some(m)));
                    seg_start = out.len();
                    i += 2;
                }
                Some(&m) => break Some(m),
            }
        };
        segments.push((seg_start, out.len(), stop));
        out.resize(out.len() + pad, 0);
        Scan {
            data: out,
            segments,
        }
    }
}

/// Why segment data ran out before the image was complete.
fn stopped_early(marker: Option<u8>) -> Error {
    match marker {
        Some(0xD9) => {
            Error::Corrupt("JPEG: image data ends early (EOI marker before the last block)".into())
        }
        Some(m) => Error::Corrupt(format!(
            "JPEG: corrupt scan: unexpected marker 0xFF{m:02X} inside the image data"
        )),
        None => {
            Error::Corrupt("JPEG: data ends before the image is complete (truncated file)".into())
        }
    }
}

/// MSB-first bit reader state over one segment of a [`Scan`]: `acc` holds
/// `n` valid bits at the top. [`decode_block`] works on copies in
/// registers; after its refill at least 56 bits are valid (Giesen's
/// branch-free refill: the bits of a partly loaded byte are loaded again,
/// identically, next time).
struct Reader<'a> {
    data: &'a [u8],
    /// Next byte to load.
    pos: usize,
    acc: u64,
    n: u32,
}

impl Reader<'_> {
    /// Bits consumed from the start of the data.
    fn consumed(&self) -> usize {
        self.pos * 8 - self.n as usize
    }
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    td: usize,
    ta: usize,
}

/// Headers up to the start of the (single) scan.
struct Frame {
    width: usize,
    height: usize,
    comps: Vec<Component>,
    qt: [[u16; 64]; 4],
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
    restart: usize,
    scan_start: usize,
}

/// Decoded pixels at reduced scale.
pub(crate) struct Scaled {
    pub width: u32,
    pub height: u32,
    pub full_width: u32,
    pub full_height: u32,
    pub rgb: Vec<u8>,
}

/// `a[u][x]`: weight of coefficient `u` in output sample `x` of an
/// `s`-sample reduction: `c(u)/2` times the mean of `cos((2i+1)u pi/16)` over
/// the `8/s` input samples `i` of output `x`.
fn weights(s: usize) -> [[f32; 4]; 4] {
    let n = 8 / s;
    let mut w = [[0f32; 4]; 4];
    for (u, row) in w.iter_mut().enumerate().take(s) {
        let cu = if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        for (x, r) in row.iter_mut().enumerate().take(s) {
            let mut m = 0.0;
            for i in x * n..(x + 1) * n {
                m += ((2 * i + 1) as f64 * u as f64 * PI / 16.0).cos();
            }
            *r = (cu / 2.0 * m / n as f64) as f32;
        }
    }
    w
}

fn u16be(d: &[u8], at: usize) -> Result<usize, Error> {
    match d.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]]) as usize),
        None => corrupt("JPEG: data ends before the image is complete (truncated file)"),
    }
}

/// The frame size from the SOF header, scanning markers only (no tables
/// are built). `None` when there is no frame header before the scan.
pub(crate) fn frame_size(data: &[u8]) -> Option<(u32, u32)> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return None;
    }
    let mut pos = 2;
    loop {
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if data.get(pos) != Some(&0xFF) {
            return None;
        }
        let m = *data.get(pos + 1)?;
        pos += 2;
        if matches!(m, 0xD8 | 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if matches!(m, 0xD9 | 0xDA) {
            return None;
        }
        let len = u16be(data, pos).ok()?;
        if matches!(m, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let h = u16be(data, pos + 3).ok()? as u32;
            let w = u16be(data, pos + 5).ok()? as u32;
            return Some((w, h));
        }
        pos += len.max(2);
    }
}

/// Read the headers up to the scan; refuse what this decoder does not do.
#[allow(clippy::needless_range_loop)] // table fields read best with indices
fn parse(data: &[u8]) -> Result<Frame, Error> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return corrupt("JPEG: no SOI marker");
    }
    let mut f = Frame {
        width: 0,
        height: 0,
        comps: Vec::new(),
        qt: [[0u16; 64]; 4],
        dc: Default::default(),
        ac: Default::default(),
        restart: 0,
        scan_start: 0,
    };
    let mut pos = 2;
    loop {
        // Next marker (skipping fill bytes).
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        match data.get(pos) {
            Some(0xFF) => {}
            Some(_) => return corrupt("JPEG: expected a marker"),
            None => return corrupt("JPEG: data ends before the image (truncated file)"),
        }
        let m = *data
            .get(pos + 1)
            .ok_or_else(|| Error::Corrupt("JPEG: truncated marker".into()))?;
        pos += 2;
        match m {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 => return corrupt("JPEG: no image data before EOI"),
            _ => {}
        }
        let len = u16be(data, pos)?;
        if len < 2 {
            return corrupt("JPEG: bad segment length");
        }
        let seg = data.get(pos + 2..pos + len).ok_or_else(|| {
            Error::Corrupt("JPEG: data ends inside a header segment (truncated file)".into())
        })?;
        match m {
            0xDB => {
                let mut i = 0;
                while i < seg.len() {
                    let (pq, tq) = ((seg[i] >> 4) as usize, (seg[i] & 15) as usize);
                    i += 1;
                    if tq > 3 {
                        return corrupt("JPEG: bad quantization table id");
                    }
                    for k in 0..64 {
                        let v = if pq == 0 {
                            *seg.get(i + k)
                                .ok_or_else(|| Error::Corrupt("JPEG: short DQT".into()))?
                                as u16
                        } else {
                            u16be(seg, i + 2 * k)? as u16
                        };
                        f.qt[tq][ZIGZAG[k] as usize] = v;
                    }
                    i += if pq == 0 { 64 } else { 128 };
                }
            }
            0xC4 => {
                let mut i = 0;
                while i < seg.len() {
                    let (tc, th) = ((seg[i] >> 4) as usize, (seg[i] & 15) as usize);
                    if th > 3 || tc > 1 {
                        return corrupt("JPEG: bad Huffman table id");
                    }
                    let counts: [u8; 16] = seg
                        .get(i + 1..i + 17)
                        .ok_or_else(|| Error::Corrupt("JPEG: short DHT".into()))?
                        .try_into()
                        .unwrap();
                    let total: usize = counts.iter().map(|&c| c as usize).sum();
                    let values = seg
                        .get(i + 17..i + 17 + total)
                        .ok_or_else(|| Error::Corrupt("JPEG: short DHT".into()))?;
                    let h = Huffman::new(&counts, values)?;
                    if tc == 0 {
                        f.dc[th] = Some(h);
                    } else {
                        f.ac[th] = Some(h);
                    }
                    i += 17 + total;
                }
            }
            0xDD => f.restart = u16be(seg, 0)?,
            0xC0 | 0xC1 => {
                if seg.first() != Some(&8) {
                    return Err(Error::Unsupported("sample precision"));
                }
                f.height = u16be(seg, 1)?;
                f.width = u16be(seg, 3)?;
                if f.width as u64 * f.height as u64 > crate::decode::MAX_PIXELS {
                    return Err(Error::Unsupported("too large"));
                }
                let nf = *seg.get(5).unwrap_or(&0) as usize;
                if nf != 1 && nf != 3 {
                    return Err(Error::Unsupported("component count"));
                }
                for c in 0..nf {
                    let b = seg
                        .get(6 + 3 * c..9 + 3 * c)
                        .ok_or_else(|| Error::Corrupt("JPEG: short SOF".into()))?;
                    let (h, v) = ((b[1] >> 4) as usize, (b[1] & 15) as usize);
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || b[2] > 3 {
                        return corrupt("JPEG: bad component sampling");
                    }
                    f.comps.push(Component {
                        id: b[0],
                        h,
                        v,
                        tq: b[2] as usize,
                        ..Default::default()
                    });
                }
                if f.width == 0 || f.height == 0 {
                    return Err(Error::Unsupported("zero or DNL-defined size"));
                }
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(Error::Unsupported("not baseline Huffman"));
            }
            0xDA => {
                if f.comps.is_empty() {
                    return corrupt("JPEG: scan before frame header");
                }
                let ns = *seg.first().unwrap_or(&0) as usize;
                if ns != f.comps.len() {
                    return Err(Error::Unsupported("several scans"));
                }
                for k in 0..ns {
                    let b = seg
                        .get(1 + 2 * k..3 + 2 * k)
                        .ok_or_else(|| Error::Corrupt("JPEG: short SOS".into()))?;
                    let c = f.comps.iter_mut().find(|c| c.id == b[0]).ok_or_else(|| {
                        Error::Corrupt("JPEG: scan names an unknown component".into())
                    })?;
                    c.td = (b[1] >> 4) as usize;
                    c.ta = (b[1] & 15) as usize;
                    if c.td > 3 || c.ta > 3 {
                        return corrupt("JPEG: bad table selector");
                    }
                }
                let tail = seg.get(1 + 2 * ns..4 + 2 * ns);
                if tail != Some(&[0, 63, 0]) {
                    return Err(Error::Unsupported("spectral selection"));
                }
                f.scan_start = pos + len;
                break;
            }
            _ => {} // APPn, COM, others: skip
        }
        pos += len;
    }
    if f.comps.len() == 1 {
        f.comps[0].h = 1;
        f.comps[0].v = 1;
    }
    Ok(f)
}

/// A sample plane at some scale, covering block columns/rows from an
/// origin (in samples) onwards.
struct Plane {
    x0: usize,
    y0: usize,
    w: usize,
    data: Vec<u8>,
}

/// How to turn one component's kept coefficients into `s x s` samples per
/// block: area-average weights, quantisers, and for 1 and 2 samples the
/// products of both in 12-bit fixed point (the common scales run in
/// integers).
struct Idct {
    s: usize,
    /// Blocks per MCU across (horizontal sampling factor).
    h: usize,
    w: [[f32; 4]; 4],
    q: [f32; 16],
    /// For coefficients 0, 1, 4 and 5 (natural order): `q * w * w << 12`.
    fixed: [i64; 4],
}

impl Idct {
    fn new(s: usize, h: usize, q: &[f32; 16]) -> Idct {
        let w = weights(s);
        let (a, b) = (w[0][0] as f64, w[1][0] as f64);
        let f = |i: usize, wt: f64| (q[i] as f64 * wt * 4096.0).round() as i64;
        Idct {
            s,
            h,
            w,
            q: *q,
            fixed: [f(0, a * a), f(1, a * b), f(4, a * b), f(5, b * b)],
        }
    }

    /// Write the block with coefficients `c` (natural order `v * 4 + u`)
    /// at `out[at..]`, rows `stride` apart.
    #[inline(always)]
    fn block(&self, c: &[i32; 16], out: &mut [u8], at: usize, stride: usize) {
        match self.s {
            1 => self.block_s::<1>(c, out, at, stride),
            2 => self.block_s::<2>(c, out, at, stride),
            _ => self.block_s::<4>(c, out, at, stride),
        }
    }

    /// [`Idct::block`] for `S == self.s`.
    #[inline(always)]
    fn block_s<const S: usize>(&self, c: &[i32; 16], out: &mut [u8], at: usize, stride: usize) {
        // 128.5 << 12: level shift and rounding.
        const BIAS: i64 = 128 * 4096 + 2048;
        let px = |v: i64| ((v + BIAS) >> 12).clamp(0, 255) as u8;
        let k = &self.fixed;
        match S {
            1 => out[at] = px(c[0] as i64 * k[0]),
            2 => {
                let (c0, c1) = (c[0] as i64 * k[0], c[1] as i64 * k[1]);
                let (c4, c5) = (c[4] as i64 * k[2], c[5] as i64 * k[3]);
                let (t0, t1) = (c0 + c4, c0 - c4);
                let (u0, u1) = (c1 + c5, c1 - c5);
                let (top, rest) = out[at..at + stride + 2].split_at_mut(stride);
                top[..2].copy_from_slice(&[px(t0 + u0), px(t0 - u0)]);
                rest[..2].copy_from_slice(&[px(t1 + u1), px(t1 - u1)]);
            }
            _ => self.block4(c, out, at, stride),
        }
    }

    #[inline(always)]
    fn block4(&self, c: &[i32; 16], out: &mut [u8], at: usize, stride: usize) {
        let (w, q) = (&self.w, &self.q);
        if c[1..].iter().all(|&v| v == 0) {
            // Flat block (common in smooth areas): one value.
            let v = (c[0] as f32 * q[0] * w[0][0] * w[0][0] + 128.5).clamp(0.0, 255.0) as u8;
            for y in 0..4 {
                out[at + y * stride..at + y * stride + 4].fill(v);
            }
            return;
        }
        // Separable, written over rows of 4 so it vectorises.
        let mut tmp = [[0f32; 4]; 4];
        for (v, t) in tmp.iter_mut().enumerate() {
            for u in 0..4 {
                let f = c[v * 4 + u] as f32 * q[v * 4 + u];
                for x in 0..4 {
                    t[x] += f * w[u][x];
                }
            }
        }
        for y in 0..4 {
            let mut acc = [128.5f32; 4];
            for (v, t) in tmp.iter().enumerate() {
                for x in 0..4 {
                    acc[x] += t[x] * w[v][y];
                }
            }
            let row = &mut out[at + y * stride..at + y * stride + 4];
            for x in 0..4 {
                row[x] = acc[x].clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// What one decode should produce.
struct Want {
    /// Output samples per block side (1, 2 or 4).
    s: usize,
    /// Only the luma inside these rectangles, in luma blocks `(bx0, by0, bx1, by1)`
    /// (ends excluded), as grey (R = G = B); the rest stays black. Other blocks are only
    /// entropy-decoded past, which is most of the saving.
    grey_in: Option<Vec<(usize, usize, usize, usize)>>,
}

/// Decode `data` at `1/reduction` scale (`reduction` is 2, 4 or 8).
pub(crate) fn decode_scaled(data: &[u8], reduction: usize) -> Result<Scaled, Error> {
    decode_scaled_as(data, reduction, None)
}

/// Decode at `1/reduction` scale only the luma inside `regions` (fractions of the photo),
/// as grey RGB; black elsewhere. For readers that want brightness in known places (the
/// card reader): blocks outside them, and all colour blocks, are only entropy-decoded
/// past. Unsupported when luma is not the most finely sampled component.
pub(crate) fn decode_grey_in(
    data: &[u8],
    reduction: usize,
    regions: &[crate::decode::Region],
) -> Result<Scaled, Error> {
    decode_scaled_as(data, reduction, Some(regions))
}

fn decode_scaled_as(
    data: &[u8],
    reduction: usize,
    regions: Option<&[crate::decode::Region]>,
) -> Result<Scaled, Error> {
    if !matches!(reduction, 2 | 4 | 8) {
        return Err(Error::Unsupported("scale"));
    }
    let f = parse(data)?;
    let s = 8 / reduction;
    let grey_in = match regions {
        None => None,
        Some(regions) => {
            let hmax = f.comps.iter().map(|c| c.h).max().unwrap_or(1);
            let vmax = f.comps.iter().map(|c| c.v).max().unwrap_or(1);
            if (f.comps[0].h, f.comps[0].v) != (hmax, vmax) {
                return Err(Error::Unsupported("luma sampled below colour"));
            }
            // Output pixels are luma samples: a luma block covers `s` of them per side.
            let (ow, oh) = (f.width.div_ceil(reduction), f.height.div_ceil(reduction));
            let px = |v: f32, n: usize, up: bool| {
                let v = v.clamp(0.0, 1.0) * n as f32;
                (if up { v.ceil() } else { v.floor() }) as usize
            };
            Some(
                regions
                    .iter()
                    .map(|r| {
                        (
                            px(r.x0, ow, false) / s,
                            px(r.y0, oh, false) / s,
                            px(r.x1, ow, true).div_ceil(s),
                            px(r.y1, oh, true).div_ceil(s),
                        )
                    })
                    .collect(),
            )
        }
    };
    let want = Want { s, grey_in };
    let ow = f.width.div_ceil(reduction);
    let oh = f.height.div_ceil(reduction);
    let mut rgb = vec![0u8; ow * oh * 3];
    entropy_decode(data, &f, &want, &mut rgb)?;
    Ok(Scaled {
        width: ow as u32,
        height: oh as u32,
        full_width: f.width as u32,
        full_height: f.height as u32,
        rgb,
    })
}

/// Entropy-decode the scan into `rgb` (the whole image at `want.s`
/// samples per block side, RGB). Each row of MCUs goes through small strips of samples,
/// converted to RGB as soon as the row is complete (they stay in cache).
#[allow(clippy::needless_range_loop)] // block arithmetic reads best with indices
fn entropy_decode(data: &[u8], f: &Frame, want: &Want, rgb: &mut [u8]) -> Result<(), Error> {
    let s = want.s;
    let comps = &f.comps;
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let mcux = f.width.div_ceil(8 * hmax);
    let mcuy = f.height.div_ceil(8 * vmax);
    // Where each zigzag position goes: slot v*4+u when u, v < s, else the
    // scratch slot 16 (also for the positions past 63 that an EOB step
    // points at). `last` is the last zigzag index kept.
    let mut keep = [16u8; 128];
    let mut last = 0usize;
    for (k, kz) in keep.iter_mut().enumerate().take(64) {
        let nat = ZIGZAG[k] as usize;
        if nat % 8 < s && nat / 8 < s {
            *kz = ((nat / 8) * 4 + nat % 8) as u8;
            last = k;
        }
    }
    // One row of MCUs per component; `y0` follows the row.
    let mut strips: Vec<Plane> = comps
        .iter()
        .map(|c| {
            let w = mcux * c.h * s;
            Plane {
                x0: 0,
                y0: 0,
                w,
                data: vec![0; w * c.v * s],
            }
        })
        .collect();
    let sampling: Vec<(usize, usize)> = comps.iter().map(|c| (c.h, c.v)).collect();
    let (ow, oh) = (f.width.div_ceil(8 / s), f.height.div_ceil(8 / s));
    debug_assert_eq!(rgb.len(), ow * oh * 3);
    // Each component's block-to-samples transform, from its quantisers (natural order
    // `v * 4 + u` of the 4 x 4 low coefficients).
    let idcts: Vec<Idct> = comps
        .iter()
        .map(|c| {
            let mut q = [0f32; 16];
            for v in 0..4 {
                for u in 0..4 {
                    q[v * 4 + u] = f.qt[c.tq][v * 8 + u] as f32;
                }
            }
            Idct::new(s, c.h, &q)
        })
        .collect();
    // Step tables per table id, built once each.
    let mut dc_steps: [Option<Box<[u32; 1 << DC_BITS]>>; 4] = Default::default();
    type AcSteps = (
        Box<[u32; 1 << AC_BITS]>,
        Box<[u16; 1 << AC_BITS]>,
        Box<[u64; 1 << AC_BITS]>,
    );
    let mut ac_steps: [Option<AcSteps>; 4] = Default::default();
    for c in comps {
        let dc = f.dc[c.td]
            .as_ref()
            .ok_or_else(|| Error::Corrupt("JPEG: missing Huffman table".into()))?;
        let ac = f.ac[c.ta]
            .as_ref()
            .ok_or_else(|| Error::Corrupt("JPEG: missing Huffman table".into()))?;
        dc_steps[c.td].get_or_insert_with(|| dc.dc_table());
        ac_steps[c.ta].get_or_insert_with(|| {
            let step = ac.ac_table();
            let skip = Huffman::skip_table(&step);
            let pair = Huffman::pair_table(&step);
            (step, skip, pair)
        });
    }
    let mut tables = Vec::with_capacity(comps.len());
    for c in comps {
        let (Some(dc), Some(ac), Some(dc_step), Some((step, skip, pair))) = (
            f.dc[c.td].as_ref(),
            f.ac[c.ta].as_ref(),
            dc_steps[c.td].as_deref(),
            ac_steps[c.ta].as_ref(),
        ) else {
            return corrupt("JPEG: missing Huffman table");
        };
        tables.push(BlockTables {
            dc,
            ac,
            dc_step,
            step,
            skip,
            pair,
        });
    }
    // The blocks of one MCU: component and position within the MCU.
    let layout: Vec<(usize, usize, usize)> = comps
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| (0..c.v).flat_map(move |by| (0..c.h).map(move |bx| (ci, bx, by))))
        .collect();
    let block_comp: Vec<usize> = layout.iter().map(|l| l.0).collect();
    // Where each block of the MCU lands in its strip, from the MCU's
    // left edge there.
    let block_at: Vec<usize> = layout
        .iter()
        .map(|&(ci, bx, by)| by * s * strips[ci].w + bx * s)
        .collect();
    let mut coefs = vec![[0i32; 32]; layout.len()];
    // Zigzag index kept up to, per block of the MCU: `last` for every block, except with
    // `grey_in`, where blocks outside its rectangles and colour blocks keep none.
    let mut lasts = vec![last; layout.len()];
    let mut wanted = vec![true; layout.len()];
    let blocks_per_mcu: usize = comps.iter().map(|c| c.h * c.v).sum();
    // One block reads at most 27 + 63 * 26 bits (< 256 bytes).
    let scan = Scan::new(data, f.scan_start, 256 * blocks_per_mcu + 16);
    let mut seg = 0usize;
    let mut rd = Reader {
        data: &scan.data,
        pos: scan.segments[0].0,
        acc: 0,
        n: 0,
    };
    let mut pred = [0i32; 4];
    let mut next_rst = 0u8;
    let (mut mx, mut my) = (0, 0);
    // MCUs since the last restart marker.
    let mut since_rst = 0usize;
    for _ in 0..mcux * mcuy {
        if f.restart > 0 && since_rst == f.restart {
            since_rst = 0;
            let marker = scan.segments[seg].2;
            if marker != Some(0xD0 + next_rst) {
                return Err(match marker {
                    Some(m) => Error::Corrupt(format!(
                        "JPEG: corrupt scan: marker 0xFF{m:02X} where RST{next_rst} was expected"
                    )),
                    None => stopped_early(None),
                });
            }
            seg += 1;
            rd = Reader {
                data: &scan.data,
                pos: scan.segments[seg].0,
                acc: 0,
                n: 0,
            };
            next_rst = (next_rst + 1) & 7;
            pred = [0; 4];
        }
        since_rst += 1;
        if let Some(rects) = &want.grey_in {
            for ((l, w), &(ci, bx, by)) in lasts.iter_mut().zip(&mut wanted).zip(&layout) {
                let (gx, gy) = (mx * comps[ci].h + bx, my * comps[ci].v + by);
                *w = ci == 0
                    && rects
                        .iter()
                        .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&gx) && (y0..y1).contains(&gy));
                *l = if *w { last } else { 0 };
            }
        }
        decode_mcu(
            &mut rd,
            &block_comp,
            &tables,
            &keep,
            &lasts,
            &mut pred,
            &mut coefs,
        )?;
        if want.grey_in.is_some() {
            // Only the luma blocks that were decoded.
            for (b, _) in wanted.iter().enumerate().filter(|(_, &w)| w) {
                let ci = block_comp[b];
                let c16: &[i32; 16] = coefs[b][..16].try_into().expect("16 slots");
                let x = mx * idcts[ci].h * s;
                let strip = &mut strips[ci];
                idcts[ci].block(c16, &mut strip.data, block_at[b] + x, strip.w);
            }
        } else {
            match s {
                1 => mcu_samples::<1>(&coefs, &block_comp, &block_at, &idcts, &mut strips, mx),
                2 => mcu_samples::<2>(&coefs, &block_comp, &block_at, &idcts, &mut strips, mx),
                _ => mcu_samples::<4>(&coefs, &block_comp, &block_at, &idcts, &mut strips, mx),
            }
        }
        if rd.consumed() > scan.segments[seg].1 * 8 {
            return Err(stopped_early(scan.segments[seg].2));
        }
        if mx + 1 == mcux {
            // The row of MCUs is complete: its output rows to RGB.
            let y0 = my * vmax * s;
            let rows = (vmax * s).min(oh - y0);
            for (p, c) in strips.iter_mut().zip(comps) {
                p.y0 = my * c.v * s;
            }
            let out = &mut rgb[y0 * ow * 3..(y0 + rows) * ow * 3];
            match &want.grey_in {
                Some(rects) => grey_rows(&strips[0], rects, s, (y0, ow, rows), out),
                None => rgb_rows(&strips, &sampling, hmax, vmax, (0, y0, ow, rows), out),
            }
            (mx, my) = (0, my + 1);
        } else {
            mx += 1;
        }
    }
    Ok(())
}

/// Write the samples of one decoded MCU (`coefs[i]`: block `i`, of
/// component `comps[i]`, at `at[i]` from the MCU's left edge in its strip)
/// into the strips, for MCU column `mx`.
#[inline(always)]
fn mcu_samples<const S: usize>(
    coefs: &[[i32; 32]],
    comps: &[usize],
    at: &[usize],
    idcts: &[Idct],
    strips: &mut [Plane],
    mx: usize,
) {
    for ((c, &ci), &at) in coefs.iter().zip(comps).zip(at) {
        let c16: &[i32; 16] = c[..16].try_into().unwrap();
        let (idct, strip) = (&idcts[ci], &mut strips[ci]);
        let x = mx * idct.h * S;
        idct.block_s::<S>(c16, &mut strip.data, at + x, strip.w);
    }
}

/// Damage found inside one block (small and `Copy`, to keep the hot loop
/// lean; turned into an [`Error`] by the caller).
#[derive(Clone, Copy, Debug)]
enum BlockError {
    BadCode,
    DcSize,
    AcSize,
    Index,
}

impl From<BlockError> for Error {
    fn from(e: BlockError) -> Error {
        Error::Corrupt(
            match e {
                BlockError::BadCode => "JPEG: invalid Huffman code in scan (corrupt data)",
                BlockError::DcSize => "JPEG: bad DC difference (corrupt data)",
                BlockError::AcSize => "JPEG: bad AC coefficient size (corrupt data)",
                BlockError::Index => "JPEG: coefficient index out of range (corrupt data)",
            }
            .into(),
        )
    }
}

/// The tables one block of a component is decoded with.
struct BlockTables<'a> {
    dc: &'a Huffman,
    ac: &'a Huffman,
    dc_step: &'a [u32; 1 << DC_BITS],
    step: &'a [u32; 1 << AC_BITS],
    skip: &'a [u16; 1 << AC_BITS],
    pair: &'a [u64; 1 << AC_BITS],
}

/// Decode the blocks of one MCU (`blocks[i]` = component of block `i`)
/// into `out` (coefficients as in [`decode_block`]; DC made absolute with
/// `pred`). One call per MCU keeps the bit reader in registers.
#[inline(never)]
fn decode_mcu(
    rd: &mut Reader,
    blocks: &[usize],
    tables: &[BlockTables],
    keep: &[u8; 128],
    lasts: &[usize],
    pred: &mut [i32; 4],
    out: &mut [[i32; 32]],
) -> Result<(), BlockError> {
    let mut r = Reader { ..*rd };
    let mut result = Ok(());
    for ((&ci, slots), &last) in blocks.iter().zip(out.iter_mut()).zip(lasts) {
        slots[..16].fill(0);
        match decode_block(&mut r, &tables[ci & 3], keep, last, slots) {
            Ok(diff) => {
                pred[ci & 3] = pred[ci & 3].wrapping_add(diff);
                slots[0] = pred[ci & 3];
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    *rd = r;
    result
}

/// Decode one block: its DC difference (returned) and its AC coefficients
/// into `slots` (`keep` maps the zigzag index to a slot; 16 and up are
/// scratch). Until zigzag index `last` each step's value is stored; after
/// it only lengths and runs matter.
#[inline(always)]
fn decode_block(
    rd: &mut Reader,
    t: &BlockTables,
    keep: &[u8; 128],
    last: usize,
    slots: &mut [i32; 32],
) -> Result<i32, BlockError> {
    let (mut acc, mut n, mut pos) = (rd.acc, rd.n, rd.pos);
    let data = rd.data;
    macro_rules! refill {
        () => {
            // Branch-free and in bounds: the scan's padding means the clamp
            // never bites on data that decodes (see `Scan::new`).
            let at = pos.min(data.len() - 8);
            let b = u64::from_be_bytes(data[at..at + 8].try_into().unwrap());
            acc |= b >> n;
            pos += ((63 - n) >> 3) as usize;
            n |= 56;
        };
    }
    macro_rules! consume {
        ($k:expr) => {
            acc <<= $k;
            n -= $k;
        };
    }
    let result = 'block: {
        // One table step; `$slow`: the entry flags that need the slow path
        // (PARTIAL entries lack only the value). Damage found there ends the
        // block.
        macro_rules! lookup {
            ($table:expr, $bits:expr, $slow:expr, $slow_fn:ident) => {{
                let e = $table[(acc >> (64 - $bits)) as usize] as u32;
                if e & $slow != 0 {
                    // A slow step may read 27 bits: refill first, so a
                    // table step never needs more than AC_BITS.
                    refill!();
                    let e = $slow_fn(t, acc);
                    if e & ERROR != 0 {
                        break 'block Err(match e {
                            AC_SIZE => BlockError::AcSize,
                            DC_SIZE => BlockError::DcSize,
                            _ => BlockError::BadCode,
                        });
                    }
                    e
                } else {
                    e
                }
            }};
        }
        // DC: the step table gives the difference with its length.
        refill!();
        let e = lookup!(t.dc_step, DC_BITS, SLOW, dc_slow);
        consume!(e & LEN_MASK);
        let diff = (e >> 16) as u16 as i16 as i32;
        let mut k = 1usize;
        // Kept coefficients, four lookups of up to two steps each per
        // refill (a table lookup reads at most AC_BITS bits, 4 x 11 < 56; the
        // slow path refills for itself). Here k <= 24, so the steps
        // land at 56 at most, or past 63 after an EOB: `keep` sends those
        // to scratch, and every step stores (0 for EOB and ZRL) without a
        // branch. The second step is stored first: when there is none it
        // points at the first's place.
        macro_rules! kept_pair {
            () => {
                let mut e = t.pair[(acc >> (64 - AC_BITS)) as usize];
                if e & (SLOW | PARTIAL) as u64 != 0 {
                    refill!();
                    let s = ac_slow(t, acc);
                    if s & ERROR != 0 {
                        break 'block Err(if s == AC_SIZE {
                            BlockError::AcSize
                        } else {
                            BlockError::BadCode
                        });
                    }
                    e = pair_entry(s);
                }
                consume!(e as u32 & LEN_MASK);
                let k1 = k + ((e >> 8) & 0x7F) as usize;
                let k2 = k1 + ((e >> 32) & 0x7F) as usize;
                slots[keep[(k2 - 1) & 127] as usize & 31] = (e >> 48) as u16 as i16 as i32;
                slots[keep[(k1 - 1) & 127] as usize & 31] = (e >> 16) as u16 as i16 as i32;
                k = k2;
            };
        }
        while k <= last {
            refill!();
            kept_pair!();
            if k > last {
                break;
            }
            kept_pair!();
            if k > last {
                break;
            }
            kept_pair!();
            if k > last {
                break;
            }
            kept_pair!();
        }
        // The rest: four lookups per refill. While k < 48 the first of two
        // steps cannot end the block (a step advances at most 16), so the
        // skip table's pairs are safe.
        let mut e = 0;
        while k < 48 {
            refill!();
            e = lookup!(t.skip, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
            if k >= 48 {
                break;
            }
            e = lookup!(t.skip, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
            if k >= 48 {
                break;
            }
            e = lookup!(t.skip, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
            if k >= 48 {
                break;
            }
            e = lookup!(t.skip, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
        }
        while k < 64 {
            refill!();
            e = lookup!(t.step, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
            if k >= 64 {
                break;
            }
            e = lookup!(t.step, AC_BITS, SLOW, ac_slow);
            consume!(e & LEN_MASK);
            k += ((e >> 8) & 0x7F) as usize;
        }
        if e & COEF != 0 && k > 64 {
            break 'block Err(BlockError::Index);
        }
        Ok(diff)
    };
    (rd.acc, rd.n, rd.pos) = (acc, n, pos);
    result
}

#[cold]
#[inline(never)]
fn ac_slow(t: &BlockTables, bits: u64) -> u32 {
    t.ac.ac_slow(bits)
}

#[cold]
#[inline(never)]
fn dc_slow(t: &BlockTables, bits: u64) -> u32 {
    t.dc.dc_slow(bits)
}

/// One row of YCbCr to RGB, one chroma sample per `H` luma samples: runs
/// of 8 chroma samples as planar arrays (so the arithmetic vectorises), then
/// interleaved; the rest as [`ycc_row_tail`].
#[inline(always)]
fn ycc_row<const H: usize>(yr: &[u8], br: &[u8], rr: &[u8], out: &mut [u8]) {
    const N: usize = 8;
    let runs = (yr.len() / (H * N)).min(br.len() / N).min(rr.len() / N);
    let done = runs * H * N;
    let ys = yr[..done].chunks_exact(H * N);
    let os = out[..done * 3].chunks_exact_mut(3 * H * N);
    let cs = br.chunks_exact(N).zip(rr.chunks_exact(N));
    for ((y, o), (b, r)) in ys.zip(os).zip(cs) {
        // Chroma terms per pixel, in i16 (|term| < 256) so the clamps below
        // run on 8 lanes of SSE2.
        let (mut dr, mut dg, mut db) = ([0i16; 16], [0i16; 16], [0i16; 16]);
        for i in 0..N {
            let (b, r) = (b[i] as i32 - 128, r[i] as i32 - 128);
            for j in 0..H {
                dr[i * H + j] = ((91_881 * r + 32_768) >> 16) as i16;
                dg[i * H + j] = ((22_554 * b + 46_802 * r - 32_768) >> 16) as i16;
                db[i * H + j] = ((116_130 * b + 32_768) >> 16) as i16;
            }
        }
        let (mut pr, mut pg, mut pb) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        for p in 0..H * N {
            let l = y[p] as i16;
            pr[p] = (l + dr[p]).clamp(0, 255) as u8;
            pg[p] = (l - dg[p]).clamp(0, 255) as u8;
            pb[p] = (l + db[p]).clamp(0, 255) as u8;
        }
        for (p, o) in o.chunks_exact_mut(3).enumerate() {
            o[0] = pr[p];
            o[1] = pg[p];
            o[2] = pb[p];
        }
    }
    ycc_row_tail::<H>(
        &yr[done..],
        &br[runs * N..],
        &rr[runs * N..],
        &mut out[done * 3..],
    );
}

/// [`ycc_row`] one pixel at a time.
#[inline(always)]
fn ycc_row_tail<const H: usize>(yr: &[u8], br: &[u8], rr: &[u8], out: &mut [u8]) {
    #[inline(always)]
    fn pixel(l: u8, d: (i32, i32, i32), o: &mut [u8]) {
        let l = l as i32;
        o[0] = (l + d.0).clamp(0, 255) as u8;
        o[1] = (l - d.1).clamp(0, 255) as u8;
        o[2] = (l + d.2).clamp(0, 255) as u8;
    }
    // JFIF YCbCr -> RGB, 16-bit fixed point: the chroma terms.
    let chroma = |b: u8, r: u8| {
        let (b, r) = (b as i32 - 128, r as i32 - 128);
        (
            (91_881 * r + 32_768) >> 16,
            (22_554 * b + 46_802 * r - 32_768) >> 16,
            (116_130 * b + 32_768) >> 16,
        )
    };
    let ys = yr.chunks_exact(H);
    let tail = ys.remainder();
    let mut os = out.chunks_exact_mut(3 * H);
    let mut cs = br.iter().zip(rr);
    for ((y, o), (&b, &r)) in ys.zip(&mut os).zip(&mut cs) {
        let d = chroma(b, r);
        for i in 0..H {
            pixel(y[i], d, &mut o[3 * i..3 * i + 3]);
        }
    }
    if let (Some(&l), Some((&b, &r))) = (tail.first(), cs.next()) {
        let o = os.into_remainder();
        if o.len() >= 3 {
            pixel(l, chroma(b, r), &mut o[..3]);
        }
    }
}

/// [`rgb_rows`] for a `grey_in` decode: the luma strip's samples inside the rectangles
/// (luma blocks of `s` samples per side) as grey RGB; the rest of `rgb` is left as it is.
fn grey_rows(
    luma: &Plane,
    rects: &[(usize, usize, usize, usize)],
    s: usize,
    (y0, ow, rows): (usize, usize, usize),
    rgb: &mut [u8],
) {
    for (y, out) in (y0..y0 + rows).zip(rgb.chunks_exact_mut(ow * 3)) {
        let r = y - luma.y0;
        let line = &luma.data[r * luma.w..(r + 1) * luma.w];
        for &(bx0, by0, bx1, by1) in rects {
            if !(by0 * s..by1 * s).contains(&y) {
                continue;
            }
            let (x0, x1) = ((bx0 * s).min(ow), (bx1 * s).min(ow));
            for (o, &v) in out[x0 * 3..x1 * 3].chunks_exact_mut(3).zip(&line[x0..x1]) {
                o.fill(v);
            }
        }
    }
}

/// YCbCr (or grey) planes to RGB over `rect = (x0, y0, w, h)` of the output image, into
/// `rgb` (`w * h * 3` bytes); chroma is the nearest sample of its (subsampled) plane.
fn rgb_rows(
    planes: &[Plane],
    sampling: &[(usize, usize)],
    hmax: usize,
    vmax: usize,
    rect: (usize, usize, usize, usize),
    rgb: &mut [u8],
) {
    let (x0, y0, ow, oh) = rect;
    let row = |ci: usize, y: usize| -> &[u8] {
        let p = &planes[ci];
        let r = y * sampling[ci].1 / vmax - p.y0;
        &p.data[r * p.w..(r + 1) * p.w]
    };
    let pairs = (planes.len() == 3
        && sampling[0] == (hmax, vmax)
        && sampling[1] == (1, 1)
        && sampling[2] == (1, 1)
        && hmax <= 2
        && x0 % hmax == 0)
        .then_some(hmax);
    // Column of each output pixel in each plane (for the other layouts).
    let cols: Vec<Vec<usize>> = if pairs.is_some() {
        Vec::new()
    } else {
        planes
            .iter()
            .zip(sampling)
            .map(|(p, &(h, _))| (x0..x0 + ow).map(|x| x * h / hmax - p.x0).collect())
            .collect()
    };
    for (y, out) in (y0..y0 + oh).zip(rgb.chunks_exact_mut(ow * 3)) {
        if planes.len() == 1 {
            let l = row(0, y);
            for (o, &x) in out.chunks_exact_mut(3).zip(&cols[0]) {
                o.fill(l[x]);
            }
            continue;
        }
        let (yr, br, rr) = (row(0, y), row(1, y), row(2, y));
        if let Some(hm) = pairs {
            // Common layouts (4:4:4, 4:2:2, 4:2:0): one chroma sample per
            // `hm` luma samples of the row, no index tables.
            let lx = x0 - planes[0].x0;
            let cx = x0 / hm - planes[1].x0;
            let (yr, br, rr) = (&yr[lx..lx + ow], &br[cx..], &rr[cx..]);
            match hm {
                1 => ycc_row::<1>(yr, br, rr, out),
                _ => ycc_row::<2>(yr, br, rr, out),
            }
            continue;
        }
        for (x, o) in out.chunks_exact_mut(3).enumerate() {
            let l = yr[cols[0][x]] as i32;
            let b = br[cols[1][x]] as i32 - 128;
            let r = rr[cols[2][x]] as i32 - 128;
            // JFIF YCbCr -> RGB, 16-bit fixed point.
            let rr = l + ((91_881 * r + 32_768) >> 16);
            let gg = l - ((22_554 * b + 46_802 * r - 32_768) >> 16);
            let bb = l + ((116_130 * b + 32_768) >> 16);
            o[0] = rr.clamp(0, 255) as u8;
            o[1] = gg.clamp(0, 255) as u8;
            o[2] = bb.clamp(0, 255) as u8;
        }
    }
}
