//! Baseline JPEG encoder for the derivatives: JFIF, YCbCr 4:2:0 with each
//! chroma sample the average of its 2 x 2 pixels, the Annex K quantisation
//! tables scaled by quality the way libjpeg does, the Annex K.3 Huffman
//! tables, no restart markers.
//!
//! Written for speed on small images (a thumbnail costs about a quarter of
//! what `jpeg-encoder` took): a float AAN DCT whose output scaling is folded
//! into the quantiser, loops over 8 lanes that the compiler vectorises, the
//! zero runs found from a bit mask, and bits written 32 at a time.

pub use crate::jpeg::ZIGZAG;

/// [`ZIGZAG`] as indices into the DCT's column-major output.
const ZIGZAG_T: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let n = ZIGZAG[k];
        t[k] = (n % 8) * 8 + n / 8;
        k += 1;
    }
    t
};

/// Zigzag position of each index of the DCT's column-major output.
const ZIGZAG_POS: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        t[ZIGZAG_T[k] as usize] = k as u8;
        k += 1;
    }
    t
};

/// Annex K.1 luminance quantisation table, row-major.
pub const ANNEX_K_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Annex K.1 chrominance quantisation table, row-major.
pub const ANNEX_K_CHROMA: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Annex K.3 Huffman tables: code counts per length 1-16, then the symbols.
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
    0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
    0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
    0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
    0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
    0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
];

/// The AAN DCT leaves coefficient (u, v) multiplied by 8 x `AAN[u]` x `AAN[v]`.
const AAN: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// Why an image could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode an empty image ({0}x{1})")]
    Empty(u32, u32),
    #[error("image too large for JPEG ({0}x{1}; at most 65535 per side)")]
    TooLarge(u32, u32),
    #[error("pixel buffer holds {got} bytes, {want} expected for {w}x{h} RGB")]
    Length {
        got: usize,
        want: usize,
        w: u32,
        h: u32,
    },
}

/// `(code, length)` of every symbol of one Huffman table (Annex C).
struct Codes([(u16, u8); 256]);

impl Codes {
    fn new(bits: &[u8; 16], values: &[u8]) -> Codes {
        let mut t = [(0u16, 0u8); 256];
        let (mut code, mut k) = (0u16, 0);
        for (len, &n) in (1..=16u8).zip(bits) {
            for _ in 0..n {
                t[values[k] as usize] = (code, len);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Codes(t)
    }
}

/// One component's tables: the quantiser (reciprocals, with the DCT's
/// scaling folded in, indexed as the DCT leaves the block: column-major)
/// and the Huffman codes.
struct Tables {
    /// Quantisation table in zigzag order, as written in DQT.
    dqt: [u8; 64],
    recip: [f32; 64],
    dc: Codes,
    ac: Codes,
}

/// The table libjpeg writes for `quality` (jcparam.c `jpeg_quality_scaling`, baseline
/// clamp to 1..=255).
pub fn ijg_table(base: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = quality.clamp(1, 100) as u32;
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    base.map(|b| ((b as u32 * scale + 50) / 100).clamp(1, 255) as u16)
}

impl Tables {
    fn new(base: &[u16; 64], quality: u8, dc: (&[u8; 16], &[u8]), ac: (&[u8; 16], &[u8])) -> Self {
        let table = ijg_table(base, quality).map(|v| v as u8);
        let mut recip = [0f32; 64];
        for (n, &t) in table.iter().enumerate() {
            let (v, u) = (n / 8, n % 8);
            recip[u * 8 + v] = 1.0 / (t as f32 * AAN[u] * AAN[v] * 8.0);
        }
        Tables {
            dqt: ZIGZAG.map(|n| table[n as usize]),
            recip,
            dc: Codes::new(dc.0, dc.1),
            ac: Codes::new(ac.0, ac.1),
        }
    }
}

/// Encode `pixels` (RGB, row-major, `w` x `h`) as a baseline JFIF JPEG.
pub fn encode_rgb(pixels: &[u8], w: u32, h: u32, quality: u8) -> Result<Vec<u8>, EncodeError> {
    if w == 0 || h == 0 {
        return Err(EncodeError::Empty(w, h));
    }
    if w > u16::MAX as u32 || h > u16::MAX as u32 {
        return Err(EncodeError::TooLarge(w, h));
    }
    let want = w as usize * h as usize * 3;
    if pixels.len() != want {
        return Err(EncodeError::Length {
            got: pixels.len(),
            want,
            w,
            h,
        });
    }
    let luma = Tables::new(
        &ANNEX_K_LUMA,
        quality,
        (&DC_LUMA_BITS, &DC_VALUES),
        (&AC_LUMA_BITS, &AC_LUMA_VALUES),
    );
    let chroma = Tables::new(
        &ANNEX_K_CHROMA,
        quality,
        (&DC_CHROMA_BITS, &DC_VALUES),
        (&AC_CHROMA_BITS, &AC_CHROMA_VALUES),
    );
    let mut out = Vec::with_capacity(700 + want / 10);
    write_headers(&mut out, w as u16, h as u16, &luma, &chroma);
    let mut bits = BitWriter { acc: 0, n: 0, out };
    encode_scan(pixels, w as usize, h as usize, &luma, &chroma, &mut bits);
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(body);
}

fn write_headers(out: &mut Vec<u8>, w: u16, h: u16, luma: &Tables, chroma: &Tables) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01, no density unit, 1:1 aspect ratio, no thumbnail.
    segment(out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let mut dqt = Vec::with_capacity(130);
    for (id, t) in [luma, chroma].iter().enumerate() {
        dqt.push(id as u8);
        dqt.extend_from_slice(&t.dqt);
    }
    segment(out, 0xDB, &dqt);
    let [wh, wl] = w.to_be_bytes();
    let [hh, hl] = h.to_be_bytes();
    // Y sampled 2x2, Cb and Cr 1x1 (4:2:0); Y uses table 0, chroma table 1.
    segment(
        out,
        0xC0,
        &[8, hh, hl, wh, wl, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
    );
    let mut dht = Vec::with_capacity(420);
    for (class_id, bits, values) in [
        (0x00, &DC_LUMA_BITS, &DC_VALUES[..]),
        (0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES[..]),
        (0x01, &DC_CHROMA_BITS, &DC_VALUES[..]),
        (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES[..]),
    ] {
        dht.push(class_id);
        dht.extend_from_slice(bits);
        dht.extend_from_slice(values);
    }
    segment(out, 0xC4, &dht);
    segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

/// Entropy-coded bits, with a 0x00 stuffed after every 0xFF byte.
struct BitWriter {
    /// The last `n` bits are pending (older bits above them are stale).
    acc: u64,
    n: u32,
    out: Vec<u8>,
}

impl BitWriter {
    /// Append the low `len` bits of `code` (`len` at most 32).
    #[inline(always)]
    fn put(&mut self, code: u32, len: u32) {
        self.acc = (self.acc << len) | code as u64;
        self.n += len;
        if self.n >= 32 {
            self.n -= 32;
            self.emit32((self.acc >> self.n) as u32);
        }
    }

    #[inline(always)]
    fn emit32(&mut self, word: u32) {
        let bytes = word.to_be_bytes();
        // Any byte 0xFF? (A zero byte in !word, by the usual bit trick.)
        let x = !word;
        if x.wrapping_sub(0x0101_0101) & !x & 0x8080_8080 == 0 {
            self.out.extend_from_slice(&bytes);
        } else {
            for b in bytes {
                self.out.push(b);
                if b == 0xFF {
                    self.out.push(0);
                }
            }
        }
    }

    /// Pad the last byte with 1 bits and return the bytes.
    fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

/// The pixels, 16 rows (one row of MCUs) at a time: Y at full size, Cb and
/// Cr as 2 x 2 averages, level-shifted, padded to whole MCUs by repeating
/// the last column and row.
struct McuRow {
    /// Padded width (a multiple of 16).
    pw: usize,
    y: Vec<f32>,
    cb: Vec<f32>,
    cr: Vec<f32>,
}

impl McuRow {
    fn new(w: usize) -> McuRow {
        let pw = w.div_ceil(16) * 16;
        McuRow {
            pw,
            y: vec![0.0; pw * 16],
            cb: vec![0.0; pw / 2 * 8],
            cr: vec![0.0; pw / 2 * 8],
        }
    }

    /// Fill from the MCU row starting at source row `y0`: two source rows
    /// at a time, each 2 x 2 pixels giving four Y samples and one Cb, Cr.
    fn fill(&mut self, pixels: &[u8], w: usize, h: usize, y0: usize) {
        let row = |y: usize| {
            let y = y.min(h - 1);
            &pixels[y * w * 3..(y + 1) * w * 3]
        };
        let (pw, cw) = (self.pw, self.pw / 2);
        let pairs = self.y.chunks_exact_mut(2 * pw).zip(
            self.cb
                .chunks_exact_mut(cw)
                .zip(self.cr.chunks_exact_mut(cw)),
        );
        for (r, (ys, (cb, cr))) in pairs.enumerate() {
            let (ya, yb) = ys.split_at_mut(pw);
            let (a, b) = (row(y0 + 2 * r), row(y0 + 2 * r + 1));
            let full = w / 2; // 2 x 2 groups wholly inside the image
            let groups = ya
                .chunks_exact_mut(2)
                .zip(yb.chunks_exact_mut(2))
                .zip(cb.iter_mut().zip(cr.iter_mut()))
                .zip(a.chunks_exact(6).zip(b.chunks_exact(6)));
            for (((ya, yb), (cb, cr)), (p, q)) in groups.take(full) {
                ya[0] = luma(p[0], p[1], p[2]);
                ya[1] = luma(p[3], p[4], p[5]);
                yb[0] = luma(q[0], q[1], q[2]);
                yb[1] = luma(q[3], q[4], q[5]);
                let s = |c: usize| p[c] as u32 + p[c + 3] as u32 + q[c] as u32 + q[c + 3] as u32;
                (*cb, *cr) = chroma4(s(0), s(1), s(2));
            }
            if full * 2 < w {
                // Odd width: the last column pairs with itself.
                let (p, q) = (&a[(w - 1) * 3..], &b[(w - 1) * 3..]);
                ya[w - 1] = luma(p[0], p[1], p[2]);
                yb[w - 1] = luma(q[0], q[1], q[2]);
                let s = |c: usize| 2 * (p[c] as u32 + q[c] as u32);
                (cb[full], cr[full]) = chroma4(s(0), s(1), s(2));
            }
            for y in [ya, yb] {
                let last = y[w - 1];
                y[w..].fill(last);
            }
            let used = w.div_ceil(2);
            let (lb, lr) = (cb[used - 1], cr[used - 1]);
            cb[used..].fill(lb);
            cr[used..].fill(lr);
        }
    }

    /// The rows of the 8 x 8 block at (`x`, `y`) of `plane` (`stride`
    /// wide), borrowed: the DCT reads them in place.
    fn block(plane: &[f32], stride: usize, x: usize, y: usize) -> [&[f32; 8]; 8] {
        std::array::from_fn(|r| {
            let s = (y + r) * stride + x;
            plane[s..s + 8].try_into().unwrap()
        })
    }
}

/// Tables of `k x v` for the bytes `v`, plus `add` (lookups cost less than
/// multiplying each byte).
const fn times(k: u32, add: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = k * i as u32 + add;
        i += 1;
    }
    t
}

// JFIF luma in 16-bit fixed point, rounded to 8 bits as libjpeg does (the
// weights sum to exactly 2^16, so greys stay exact).
const Y_R: [u32; 256] = times(19_595, 1 << 15);
const Y_G: [u32; 256] = times(38_470, 0);
const Y_B: [u32; 256] = times(7_471, 0);

/// JFIF luma, level-shifted.
#[inline(always)]
fn luma(r: u8, g: u8, b: u8) -> f32 {
    ((Y_R[r as usize] + Y_G[g as usize] + Y_B[b as usize]) >> 16) as f32 - 128.0
}

/// JFIF Cb and Cr (level-shifted) of the average of four pixels, given the
/// sums of their R, G and B.
#[inline(always)]
fn chroma4(r: u32, g: u32, b: u32) -> (f32, f32) {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    (
        -0.042_184 * r - 0.082_816 * g + 0.125 * b,
        0.125 * r - 0.104_672 * g - 0.020_328 * b,
    )
}

fn encode_scan(
    pixels: &[u8],
    w: usize,
    h: usize,
    luma: &Tables,
    chroma: &Tables,
    bits: &mut BitWriter,
) {
    let mut mcu = McuRow::new(w);
    let mut dc = [0i32; 3];
    for y0 in (0..h).step_by(16) {
        mcu.fill(pixels, w, h, y0);
        let pw = mcu.pw;
        for x0 in (0..pw).step_by(16) {
            for (bx, by) in [(0, 0), (8, 0), (0, 8), (8, 8)] {
                let b = McuRow::block(&mcu.y, pw, x0 + bx, by);
                encode_block(b, luma, &mut dc[0], bits);
            }
            let b = McuRow::block(&mcu.cb, pw / 2, x0 / 2, 0);
            encode_block(b, chroma, &mut dc[1], bits);
            let b = McuRow::block(&mcu.cr, pw / 2, x0 / 2, 0);
            encode_block(b, chroma, &mut dc[2], bits);
        }
    }
}

/// One pass of the float AAN DCT (Arai, Agui, Nakajima; as in libjpeg's
/// jfdctflt.c) over 8 vectors, each lane a separate 1-D transform.
#[inline(always)]
fn dct_pass(d: [&[f32; 8]; 8]) -> [[f32; 8]; 8] {
    let mut o = [[0f32; 8]; 8];
    for i in 0..8 {
        let tmp0 = d[0][i] + d[7][i];
        let tmp7 = d[0][i] - d[7][i];
        let tmp1 = d[1][i] + d[6][i];
        let tmp6 = d[1][i] - d[6][i];
        let tmp2 = d[2][i] + d[5][i];
        let tmp5 = d[2][i] - d[5][i];
        let tmp3 = d[3][i] + d[4][i];
        let tmp4 = d[3][i] - d[4][i];

        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        o[0][i] = tmp10 + tmp11;
        o[4][i] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * 0.707_106_77;
        o[2][i] = tmp13 + z1;
        o[6][i] = tmp13 - z1;

        let tmp10 = tmp4 + tmp5;
        let tmp11 = tmp5 + tmp6;
        let tmp12 = tmp6 + tmp7;
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = 0.541_196_1 * tmp10 + z5;
        let z4 = 1.306_563 * tmp12 + z5;
        let z3 = tmp11 * 0.707_106_77;
        let z11 = tmp7 + z3;
        let z13 = tmp7 - z3;
        o[5][i] = z13 + z2;
        o[3][i] = z13 - z2;
        o[1][i] = z11 + z4;
        o[7][i] = z11 - z4;
    }
    o
}

fn transpose(m: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    let mut t = [[0f32; 8]; 8];
    for (i, row) in m.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j][i] = v;
        }
    }
    t
}

/// Largest coefficient magnitude baseline Huffman coding takes (size 10).
const MAX_AC: i32 = 1023;

/// DCT, quantise and Huffman-code one block (rows as given by
/// [`McuRow::block`]); `prev_dc` is the component's last DC value.
fn encode_block(b: [&[f32; 8]; 8], t: &Tables, prev_dc: &mut i32, bits: &mut BitWriter) {
    // Down the columns, then (transposed) along the rows: `f[u][v]` holds
    // the coefficient of horizontal frequency u, vertical frequency v.
    let f = dct_pass(transpose(&dct_pass(b)).each_ref());
    let mut q = [0i32; 64];
    for ((qv, &c), &r) in q.iter_mut().zip(f.as_flattened()).zip(&t.recip) {
        // Round to nearest: adding 1.5 x 2^23 leaves the integer in the
        // low mantissa bits (exact for |x| < 2^22).
        let x = (c * r).clamp(-(MAX_AC as f32), MAX_AC as f32);
        *qv = ((x + 12_582_912.0).to_bits() as i32) - 0x4B40_0000;
    }
    // Most coefficients are zero: a mask of the non-zero ones, built eight
    // at a time (flags as bytes, gathered into bits by one multiplication),
    // then moved bit by bit to zigzag positions.
    let mut nz = 0u64;
    for (c, chunk) in q.chunks_exact(8).enumerate() {
        let mut flags = [0u8; 8];
        for (f, &v) in flags.iter_mut().zip(chunk) {
            *f = (v != 0) as u8;
        }
        nz |= (u64::from_le_bytes(flags).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * c);
    }
    let mut mask = 0u64;
    while nz != 0 {
        mask |= 1 << ZIGZAG_POS[nz.trailing_zeros() as usize];
        nz &= nz - 1;
    }
    let coef = |k: u32| q[ZIGZAG_T[k as usize & 63] as usize];
    let dc = q[0];
    let diff = dc - *prev_dc;
    *prev_dc = dc;
    let (size, value) = magnitude(diff);
    let (code, len) = t.dc.0[size as usize];
    bits.put(((code as u32) << size) | value, len as u32 + size);
    let mut mask = mask & !1;
    let mut last = 0u32;
    while mask != 0 {
        let k = mask.trailing_zeros();
        mask &= mask - 1;
        let mut run = k - last - 1;
        while run >= 16 {
            let (code, len) = t.ac.0[0xF0];
            bits.put(code as u32, len as u32);
            run -= 16;
        }
        let (size, value) = magnitude(coef(k));
        let (code, len) = t.ac.0[((run << 4) | size) as usize];
        bits.put(((code as u32) << size) | value, len as u32 + size);
        last = k;
    }
    if last != 63 {
        let (code, len) = t.ac.0[0x00];
        bits.put(code as u32, len as u32);
    }
}

/// JPEG's (category, extra bits) of a coefficient or DC difference.
#[inline(always)]
fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = (v - (v < 0) as i32) as u32 & ((1u32 << size) - 1);
    (size, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth pattern with some edges: what photos look like to a DCT.
    fn pattern(w: usize, h: usize) -> Vec<u8> {
        let mut p = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
                let edge = if (x / 13 + y / 17) % 2 == 0 {
                    40.0
                } else {
                    0.0
                };
                p.push((200.0 * fx + edge) as u8);
                p.push((180.0 * fy + 30.0) as u8);
                p.push((100.0 + 80.0 * (fx * 9.0).sin() * fy) as u8);
            }
        }
        p
    }

    fn decode(bytes: &[u8]) -> (Vec<u8>, usize, usize) {
        let mut d = jpeg_decoder::Decoder::new(bytes);
        let px = d.decode().expect("decodes");
        let info = d.info().unwrap();
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        (px, info.width as usize, info.height as usize)
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    #[test]
    fn round_trips_through_an_independent_decoder() {
        for (w, h) in [
            (320, 240),
            (160, 120),
            (80, 60),
            (1, 1),
            (17, 9),
            (33, 47),
            (8, 16),
        ] {
            let src = pattern(w, h);
            for q in [30, 75, 80, 95] {
                let jpg = encode_rgb(&src, w as u32, h as u32, q).unwrap();
                let (px, dw, dh) = decode(&jpg);
                assert_eq!((dw, dh), (w, h));
                let p = psnr(&src, &px);
                let floor = if q >= 75 { 26.0 } else { 23.0 };
                assert!(p > floor, "{w}x{h} q{q}: PSNR {p:.1} dB");
            }
        }
    }

    fn jpeg_encoder_bytes(src: &[u8], w: usize, h: usize, q: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, q);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.encode(src, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn as_good_as_jpeg_encoder_and_as_small() {
        // The crate the derivatives used before: same tables, same quality
        // scale; ours averages chroma instead of picking one pixel in four.
        for (w, h) in [(320, 240), (160, 120), (80, 60), (33, 47)] {
            let src = pattern(w, h);
            for q in [60, 75, 80, 90] {
                let ours = encode_rgb(&src, w as u32, h as u32, q).unwrap();
                let theirs = jpeg_encoder_bytes(&src, w, h, q);
                let (po, pt) = (psnr(&src, &decode(&ours).0), psnr(&src, &decode(&theirs).0));
                assert!(po > pt - 0.3, "{w}x{h} q{q}: {po:.2} dB vs {pt:.2}");
                let ratio = ours.len() as f64 / theirs.len() as f64;
                assert!(
                    ratio < 1.1,
                    "{w}x{h} q{q}: {} bytes vs {}",
                    ours.len(),
                    theirs.len()
                );
            }
        }
    }

    #[test]
    fn quality_trades_size_for_fidelity() {
        let (w, h) = (160, 120);
        let src = pattern(w, h);
        let enc = |q| encode_rgb(&src, w as u32, h as u32, q).unwrap();
        let (lo, hi) = (enc(40), enc(95));
        assert!(lo.len() < hi.len(), "{} {}", lo.len(), hi.len());
        assert!(psnr(&src, &decode(&lo).0) < psnr(&src, &decode(&hi).0));
    }

    #[test]
    fn extreme_content_stays_decodable() {
        // Full-range noise at quality 100 (quantiser 1) pushes coefficients
        // to their limits; flat white writes 0xFF-heavy data.
        let (w, h) = (48, 40);
        let noise: Vec<u8> = (0..w * h * 3)
            .map(|i| (i * 7919 % 256) as u8 ^ 0x5A)
            .collect();
        let white = vec![255u8; w * h * 3];
        let black = vec![0u8; w * h * 3];
        for src in [&noise, &white, &black] {
            for q in [1, 50, 100] {
                let jpg = encode_rgb(src, w as u32, h as u32, q).unwrap();
                let (px, ..) = decode(&jpg);
                // 4:2:0 loses most of the noise's colour, at any quality:
                // as much as jpeg-encoder, not more.
                let theirs = decode(&jpeg_encoder_bytes(src, w, h, q)).0;
                let (ours, theirs) = (psnr(src, &px), psnr(src, &theirs));
                assert!(
                    ours > theirs - 0.5,
                    "q{q}: {ours:.1} dB, jpeg-encoder {theirs:.1}"
                );
            }
        }
        assert_eq!(
            &decode(&encode_rgb(&white, 48, 40, 90).unwrap()).0[..3],
            &[255, 255, 255]
        );
    }

    #[test]
    fn greys_and_flat_colours_come_back_exactly() {
        for v in 0..=255u8 {
            assert_eq!(luma(v, v, v), v as f32 - 128.0);
        }
        for rgb in [[255u8, 255, 255], [0, 0, 0], [128, 128, 128], [200, 30, 90]] {
            let src: Vec<u8> = rgb.iter().copied().cycle().take(40 * 24 * 3).collect();
            let px = decode(&encode_rgb(&src, 40, 24, 80).unwrap()).0;
            let worst = src.iter().zip(&px).map(|(&a, &b)| a.abs_diff(b)).max();
            let limit = if rgb[0] == rgb[1] && rgb[1] == rgb[2] {
                0
            } else {
                2
            };
            assert!(worst <= Some(limit), "{rgb:?}: off by {worst:?}");
        }
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            encode_rgb(&[], 0, 5, 80),
            Err(EncodeError::Empty(0, 5))
        ));
        assert!(matches!(
            encode_rgb(&[0; 10], 2, 2, 80),
            Err(EncodeError::Length {
                got: 10,
                want: 12,
                ..
            })
        ));
        assert!(matches!(
            encode_rgb(&[], 70_000, 1, 80),
            Err(EncodeError::TooLarge(70_000, 1))
        ));
    }

    #[test]
    fn writes_the_standard_tables() {
        let jpg = encode_rgb(&pattern(16, 16), 16, 16, 50).unwrap();
        // At quality 50 the DQT holds Annex K as it is (zigzag order).
        let dqt = jpg.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
        assert_eq!(jpg[dqt + 4], 0);
        assert_eq!(&jpg[dqt + 5..dqt + 9], &[16, 11, 12, 14]);
        assert_eq!(jpg[dqt + 4 + 65], 1);
        assert_eq!(&jpg[dqt + 4 + 66..dqt + 4 + 69], &[17, 18, 18]);
        // Baseline frame, 4:2:0.
        let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(&jpg[sof + 10..sof + 13], &[1, 0x22, 0]);
        assert_eq!(&jpg[jpg.len() - 2..], &[0xFF, 0xD9]);
    }
}
