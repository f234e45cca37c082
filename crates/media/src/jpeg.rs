//! A small, fast decoder for the common case — baseline (sequential,
//! Huffman, 8-bit) JPEG with one interleaved scan of 1 or 3 components — at
//! 1/2, 1/4 or 1/8 scale. It entropy-decodes every block but keeps only the
//! low-frequency coefficients it needs and turns each 8 x 8 block into
//! 4 x 4, 2 x 2 or 1 x 1 pixels, each the average of the (low-pass) block
//! over its area. That is several times faster than a full decode followed
//! by resizing, and runs on the calling thread.
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

const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUT_BITS: u32 = 9;

/// One entry of the AC lookahead table: a whole (run, size, value) step
/// when the code and its extra bits fit in FAST_BITS.
#[derive(Clone, Copy, Default)]
struct AcFast {
    /// Bits consumed (code + extra bits); 0 = not in the table.
    len: u8,
    run: u8,
    /// Size category (0 = EOB or ZRL).
    size: u8,
    value: i16,
}

impl AcFast {
    /// `value << 16 | size << 12 | run << 8 | len`, one load in the hot loop.
    fn pack(self) -> u32 {
        ((self.value as u16 as u32) << 16)
            | ((self.size as u32) << 12)
            | ((self.run as u32) << 8)
            | self.len as u32
    }
}

const FAST_BITS: u32 = 10;

#[derive(Clone)]
struct Huffman {
    /// `(length << 8) | symbol` for codes of at most LUT_BITS bits, 0 else.
    lut: Vec<u16>,
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman, Error> {
        let mut h = Huffman {
            lut: vec![0; 1 << LUT_BITS],
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
                    if len as u32 <= LUT_BITS {
                        let c = (code + i) as usize;
                        let shift = LUT_BITS as usize - len;
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

    /// The AC lookahead table (see [`AcFast`]).
    fn ac_fast(&self) -> Vec<u32> {
        let mut t = vec![0u32; 1 << FAST_BITS];
        for (p, e) in t.iter_mut().enumerate() {
            // Find the code that prefixes p (canonical decode).
            let p = p as i32;
            for len in 1..=FAST_BITS as usize {
                let code = p >> (FAST_BITS as usize - len);
                if code <= self.maxcode[len] && self.maxcode[len] >= 0 && code >= self.mincode[len]
                {
                    let i = (self.valptr[len] + code - self.mincode[len]) as usize;
                    let Some(&rs) = self.values.get(i) else { break };
                    let (run, size) = (rs >> 4, rs & 15);
                    let total = len as u32 + size as u32;
                    if total <= FAST_BITS {
                        let mut v = 0i32;
                        if size > 0 {
                            v = (p >> (FAST_BITS - total)) & ((1 << size) - 1);
                            if v < (1 << (size - 1)) {
                                v = v - (1 << size) + 1;
                            }
                        }
                        *e = AcFast {
                            len: total as u8,
                            run,
                            size,
                            value: v as i16,
                        }
                        .pack();
                    }
                    break;
                }
            }
        }
        t
    }
}

/// MSB-first bit reader over entropy-coded data, removing stuffed zero
/// bytes and stopping (feeding zeros) at a marker.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    /// A marker (or the end of data) was reached while filling.
    stopped: bool,
    /// Zero bits fed past the stop.
    padded: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            stopped: false,
            padded: 0,
        }
    }

    #[inline]
    fn fill(&mut self) {
        // Fast path: the next 8 bytes hold no 0xFF.
        if !self.stopped {
            if let Some(b) = self.data.get(self.pos..self.pos + 8) {
                let x = u64::from_be_bytes(b.try_into().unwrap());
                let t = !x;
                let has_ff = t.wrapping_sub(0x0101_0101_0101_0101) & !t & 0x8080_8080_8080_8080;
                if has_ff == 0 {
                    let k = (63 - self.n) / 8; // whole bytes that fit
                    if k > 0 {
                        self.acc |= (x >> (64 - 8 * k)) << (64 - self.n - 8 * k);
                        self.pos += k as usize;
                        self.n += 8 * k;
                    }
                    return;
                }
            }
        }
        while self.n <= 56 {
            let b = if self.stopped {
                self.padded += 8;
                0
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(0x00) => {
                            self.pos += 2;
                            0xFF
                        }
                        _ => {
                            self.stopped = true;
                            self.padded += 8;
                            0
                        }
                    },
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                    None => {
                        self.stopped = true;
                        self.padded += 8;
                        0
                    }
                }
            };
            self.acc |= (b as u64) << (56 - self.n);
            self.n += 8;
        }
    }

    #[inline]
    fn peek(&mut self, k: u32) -> u32 {
        if self.n < k {
            self.fill();
        }
        (self.acc >> (64 - k)) as u32
    }

    #[inline]
    fn skip(&mut self, k: u32) {
        self.acc <<= k;
        self.n -= k;
    }

    #[inline]
    fn receive(&mut self, k: u32) -> i32 {
        if k == 0 {
            return 0;
        }
        let v = self.peek(k) as i32;
        self.skip(k);
        // EXTEND
        if v < (1 << (k - 1)) {
            v - (1 << k) + 1
        } else {
            v
        }
    }

    #[inline]
    fn decode(&mut self, h: &Huffman) -> Result<u8, Error> {
        let e = h.lut[self.peek(LUT_BITS) as usize];
        if e != 0 {
            self.skip((e >> 8) as u32);
            return Ok(e as u8);
        }
        let v = self.peek(16) as i32;
        for len in (LUT_BITS as usize + 1)..=16 {
            let code = v >> (16 - len);
            if code <= h.maxcode[len] {
                self.skip(len as u32);
                let i = h.valptr[len] + code - h.mincode[len];
                return h
                    .values
                    .get(i as usize)
                    .copied()
                    .ok_or_else(|| Error::Corrupt("JPEG: bad Huffman code".into()));
            }
        }
        Err(Error::Corrupt(
            "JPEG: invalid Huffman code in scan (corrupt data)".into(),
        ))
    }

    /// Whether the decoder consumed any of the zero bits fed after the data
    /// stopped (i.e. the scan ended early).
    #[inline]
    fn overran(&self) -> bool {
        self.padded > self.n
    }

    fn why_stopped(&self) -> Error {
        match (self.data.get(self.pos), self.data.get(self.pos + 1)) {
            (Some(0xFF), Some(0xD9)) => Error::Corrupt(
                "JPEG: image data ends early (EOI marker before the last block)".into(),
            ),
            (Some(0xFF), Some(&m)) => Error::Corrupt(format!(
                "JPEG: corrupt scan: unexpected marker 0xFF{m:02X} inside the image data"
            )),
            _ => Error::Corrupt(
                "JPEG: data ends before the image is complete (truncated file)".into(),
            ),
        }
    }

    /// Drop buffered bits and move to a restart marker.
    fn restart(&mut self, expect: u8) -> Result<(), Error> {
        self.acc = 0;
        self.n = 0;
        self.stopped = false;
        self.padded = 0;
        // Find the next marker.
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == 0xFF {
                let m = self.data[self.pos + 1];
                if m == 0xFF {
                    self.pos += 1;
                    continue;
                }
                if m == 0x00 {
                    self.pos += 2;
                    continue;
                }
                if m == 0xD0 + expect {
                    self.pos += 2;
                    return Ok(());
                }
                return corrupt(format!(
                    "JPEG: corrupt scan: marker 0xFF{m:02X} where RST{expect} was expected"
                ));
            }
            self.pos += 1;
        }
        corrupt("JPEG: data ends before the image is complete (truncated file)")
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

/// Decode the AC coefficients of one block, keeping those `keep` maps to
/// slots below 16.
#[inline(always)]
fn ac_block(
    bits: &mut Bits,
    fast: &[u32; 1 << FAST_BITS],
    ac: &Huffman,
    keep: &[u8; 64],
    slots: &mut [i32; 32],
) -> Result<(), Error> {
    // The bit buffer lives in registers here; `bits` is synced around the
    // rare calls that need it.
    let (mut acc, mut n) = (bits.acc, bits.n);
    let mut k = 1usize;
    let result = loop {
        if k >= 64 {
            break Ok(());
        }
        if n < 16 {
            (bits.acc, bits.n) = (acc, n);
            bits.fill();
            (acc, n) = (bits.acc, bits.n);
        }
        let f = fast[(acc >> (64 - FAST_BITS)) as usize];
        let len = f & 0xFF;
        let (run, size, value) = if len != 0 {
            acc <<= len;
            n -= len;
            (
                ((f >> 8) & 15) as usize,
                (f >> 12) & 15,
                (f >> 16) as u16 as i16 as i32,
            )
        } else {
            (bits.acc, bits.n) = (acc, n);
            let rs = match bits.decode(ac) {
                Ok(rs) => rs,
                Err(e) => break Err(e),
            };
            let size = (rs & 15) as u32;
            let v = if size > 0 { bits.receive(size) } else { 0 };
            (acc, n) = (bits.acc, bits.n);
            ((rs >> 4) as usize, size, v)
        };
        if size == 0 {
            if run == 15 {
                k += 16;
                continue;
            }
            break Ok(());
        }
        k += run;
        if k > 63 {
            break corrupt("JPEG: coefficient index out of range (corrupt data)");
        }
        slots[keep[k] as usize & 31] = value;
        k += 1;
    };
    (bits.acc, bits.n) = (acc, n);
    result
}

/// Decoded pixels at reduced scale.
pub(crate) struct Scaled {
    pub width: u32,
    pub height: u32,
    pub full_width: u32,
    pub full_height: u32,
    pub rgb: Vec<u8>,
}

/// `a[s][u][x]`: weight of coefficient `u` in output sample `x` of an
/// `s`-sample reduction: `c(u)/2` times the mean of `cos((2i+1)u pi/16)` over
/// the `8/s` input samples `i` of output `x`.
fn weights(s: usize) -> Vec<[f32; 8]> {
    let n = 8 / s;
    (0..s)
        .map(|u| {
            let mut row = [0f32; 8];
            let cu = if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
            for (x, r) in row.iter_mut().enumerate().take(s) {
                let mut m = 0.0;
                for i in x * n..(x + 1) * n {
                    m += ((2 * i + 1) as f64 * u as f64 * PI / 16.0).cos();
                }
                *r = (cu / 2.0 * m / n as f64) as f32;
            }
            row
        })
        .collect()
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

/// Decode `data` at `1/reduction` scale (`reduction` is 2, 4 or 8).
#[allow(clippy::needless_range_loop)] // block arithmetic reads best with indices
pub(crate) fn decode_scaled(data: &[u8], reduction: usize) -> Result<Scaled, Error> {
    if !matches!(reduction, 2 | 4 | 8) {
        return Err(Error::Unsupported("scale"));
    }
    let s = 8 / reduction;
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return corrupt("JPEG: no SOI marker");
    }
    let mut qt = [[0u16; 64]; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    let mut comps: Vec<Component> = Vec::new();
    let (mut width, mut height) = (0usize, 0usize);
    let mut restart = 0usize;
    let mut pos = 2;
    let scan_start;
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
                        qt[tq][ZIGZAG[k] as usize] = v;
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
                        dc_tables[th] = Some(h);
                    } else {
                        ac_tables[th] = Some(h);
                    }
                    i += 17 + total;
                }
            }
            0xDD => restart = u16be(seg, 0)?,
            0xC0 | 0xC1 => {
                if seg.first() != Some(&8) {
                    return Err(Error::Unsupported("sample precision"));
                }
                height = u16be(seg, 1)?;
                width = u16be(seg, 3)?;
                if width as u64 * height as u64 > crate::decode::MAX_PIXELS {
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
                    comps.push(Component {
                        id: b[0],
                        h,
                        v,
                        tq: b[2] as usize,
                        ..Default::default()
                    });
                }
                if width == 0 || height == 0 {
                    return Err(Error::Unsupported("zero or DNL-defined size"));
                }
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(Error::Unsupported("not baseline Huffman"));
            }
            0xDA => {
                if comps.is_empty() {
                    return corrupt("JPEG: scan before frame header");
                }
                let ns = *seg.first().unwrap_or(&0) as usize;
                if ns != comps.len() {
                    return Err(Error::Unsupported("several scans"));
                }
                for k in 0..ns {
                    let b = seg
                        .get(1 + 2 * k..3 + 2 * k)
                        .ok_or_else(|| Error::Corrupt("JPEG: short SOS".into()))?;
                    let c = comps.iter_mut().find(|c| c.id == b[0]).ok_or_else(|| {
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
                scan_start = pos + len;
                break;
            }
            _ => {} // APPn, COM, others: skip
        }
        pos += len;
    }

    if comps.len() == 1 {
        comps[0].h = 1;
        comps[0].v = 1;
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap();
    let vmax = comps.iter().map(|c| c.v).max().unwrap();
    let mcux = width.div_ceil(8 * hmax);
    let mcuy = height.div_ceil(8 * vmax);
    let wts = weights(s);
    // Where each zigzag position goes: slot v*4+u when u, v < s, else the
    // scratch slot 16.
    let mut keep = [16u8; 64];
    for (k, kz) in keep.iter_mut().enumerate() {
        let nat = ZIGZAG[k] as usize;
        if nat % 8 < s && nat / 8 < s {
            *kz = ((nat / 8) * 4 + nat % 8) as u8;
        }
    }
    // Output planes, `s` samples per block side.
    struct Plane {
        w: usize,
        data: Vec<u8>,
    }
    let mut planes: Vec<Plane> = comps
        .iter()
        .map(|c| {
            let w = mcux * c.h * s;
            let h = mcuy * c.v * s;
            Plane {
                w,
                data: vec![0; w * h],
            }
        })
        .collect();
    let mut tables = Vec::with_capacity(comps.len());
    for c in &comps {
        let dc = dc_tables[c.td]
            .as_ref()
            .ok_or_else(|| Error::Corrupt("JPEG: missing Huffman table".into()))?;
        let ac = ac_tables[c.ta]
            .as_ref()
            .ok_or_else(|| Error::Corrupt("JPEG: missing Huffman table".into()))?;
        // Components sharing an AC table share its lookahead table.
        let fast: std::rc::Rc<[u32; 1 << FAST_BITS]> =
            match comps.iter().zip(&tables).find(|(o, _)| o.ta == c.ta) {
                Some((_, (_, _, f))) => std::rc::Rc::clone(f),
                None => {
                    let b: Box<[u32; 1 << FAST_BITS]> = ac
                        .ac_fast()
                        .into_boxed_slice()
                        .try_into()
                        .map_err(|_| Error::Corrupt("JPEG: internal table size".into()))?;
                    std::rc::Rc::from(b)
                }
            };
        tables.push((dc, ac, fast));
    }
    let qss: Vec<[f32; 16]> = comps
        .iter()
        .map(|c| {
            let mut qs = [0f32; 16];
            for v in 0..s {
                for u in 0..s {
                    qs[v * 4 + u] = qt[c.tq][v * 8 + u] as f32;
                }
            }
            qs
        })
        .collect();
    let mut bits = Bits::new(data, scan_start);
    let mut pred = vec![0i32; comps.len()];
    let mut coef = [0f32; 16];
    let w00 = wts[0][0] * wts[0][0];
    let mut slots = [0i32; 32];
    let total = mcux * mcuy;
    let mut next_rst = 0u8;
    for mcu in 0..total {
        if restart > 0 && mcu > 0 && mcu % restart == 0 {
            bits.restart(next_rst)?;
            next_rst = (next_rst + 1) & 7;
            pred.iter_mut().for_each(|p| *p = 0);
        }
        let (mx, my) = (mcu % mcux, mcu / mcux);
        for (ci, c) in comps.iter().enumerate() {
            let (dc, ac, ref fast) = tables[ci];
            let qs = &qss[ci];
            let plane = &mut planes[ci];
            for by in 0..c.v {
                for bx in 0..c.h {
                    // DC
                    let t = bits.decode(dc)? as u32;
                    if t > 11 {
                        return corrupt("JPEG: bad DC difference (corrupt data)");
                    }
                    pred[ci] += bits.receive(t);
                    slots.fill(0);
                    slots[0] = pred[ci];
                    ac_block(&mut bits, fast, ac, &keep, &mut slots)?;
                    // Reduced inverse DCT (area averages).
                    let ox = (mx * c.h + bx) * s;
                    let oy = (my * c.v + by) * s;
                    let px = |v: f32| (v + 128.5).clamp(0.0, 255.0) as u8;
                    match s {
                        1 => plane.data[oy * plane.w + ox] = px(slots[0] as f32 * qs[0] * w00),
                        2 => {
                            // Separable 2-point: a = w[0][*], b = w[1][*] (b1 = -b0).
                            let f00 = slots[0] as f32 * qs[0];
                            let f01 = slots[1] as f32 * qs[1];
                            let f10 = slots[4] as f32 * qs[4];
                            let f11 = slots[5] as f32 * qs[5];
                            let (a, b) = (wts[0][0], wts[1][0]);
                            // Rows: r0 = f00 a + f01 b (x=0), f00 a - f01 b (x=1).
                            let (r00, r01) = (f00 * a + f01 * b, f00 * a - f01 * b);
                            let (r10, r11) = (f10 * a + f11 * b, f10 * a - f11 * b);
                            let top = oy * plane.w + ox;
                            plane.data[top] = px(r00 * a + r10 * b);
                            plane.data[top + 1] = px(r01 * a + r11 * b);
                            plane.data[top + plane.w] = px(r00 * a - r10 * b);
                            plane.data[top + plane.w + 1] = px(r01 * a - r11 * b);
                        }
                        _ => {
                            for (c, (&v, &qv)) in coef.iter_mut().zip(slots.iter().zip(qs.iter())) {
                                *c = v as f32 * qv;
                            }
                            let mut tmp = [[0f32; 4]; 4];
                            for v in 0..4 {
                                for x in 0..4 {
                                    let mut acc = 0f32;
                                    for u in 0..4 {
                                        acc += coef[v * 4 + u] * wts[u][x];
                                    }
                                    tmp[v][x] = acc;
                                }
                            }
                            for y in 0..4 {
                                let row = (oy + y) * plane.w + ox;
                                for x in 0..4 {
                                    let mut acc = 0.0;
                                    for v in 0..4 {
                                        acc += tmp[v][x] * wts[v][y];
                                    }
                                    plane.data[row + x] = px(acc);
                                }
                            }
                        }
                    }
                }
            }
        }
        if bits.overran() {
            return Err(bits.why_stopped());
        }
    }
    // Colour conversion at output size.
    let ow = width.div_ceil(reduction);
    let oh = height.div_ceil(reduction);
    let mut rgb = vec![0u8; ow * oh * 3];
    if comps.len() == 1 {
        let p = &planes[0];
        for y in 0..oh {
            for x in 0..ow {
                let v = p.data[y * p.w + x];
                let o = (y * ow + x) * 3;
                rgb[o] = v;
                rgb[o + 1] = v;
                rgb[o + 2] = v;
            }
        }
    } else {
        // Chroma: nearest sample of the subsampled plane.
        let (cy, cb, cr) = (&planes[0], &planes[1], &planes[2]);
        let (yh, yv) = (comps[0].h, comps[0].v);
        let (bh, bv) = (comps[1].h, comps[1].v);
        let (rh, rv) = (comps[2].h, comps[2].v);
        let cols = |h: usize| -> Vec<usize> { (0..ow).map(|x| x * h / hmax).collect() };
        let (xy, xb, xr) = (cols(yh), cols(bh), cols(rh));
        for y in 0..oh {
            let yrow = &cy.data[(y * yv / vmax) * cy.w..];
            let brow = &cb.data[(y * bv / vmax) * cb.w..];
            let rrow = &cr.data[(y * rv / vmax) * cr.w..];
            let out = &mut rgb[y * ow * 3..(y + 1) * ow * 3];
            for (x, o) in out.chunks_exact_mut(3).enumerate() {
                let l = yrow[xy[x]] as i32;
                let b = brow[xb[x]] as i32 - 128;
                let r = rrow[xr[x]] as i32 - 128;
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
    Ok(Scaled {
        width: ow as u32,
        height: oh as u32,
        full_width: width as u32,
        full_height: height as u32,
        rgb,
    })
}
