//! Small, dependency-free image operations: resampling, blur, orientation.

use crate::RgbImage;

/// Per-output-sample taps of a separable resampler: output `o` is
/// `sum_k weights[o * width + k] * input[start[o] + k]`. Every window has
/// the same `width` (zero weights pad the shorter ones, shifted to stay
/// inside the input) so that the inner loops have a fixed length; starts
/// never decrease; the weights of one output sum to 1.
struct Taps {
    start: Vec<usize>,
    weights: Vec<f32>,
    width: usize,
}

/// [`taps`], remembered per thread for the last few sizes: every photo of a
/// collection resizes between the same sizes, and computing the taps costs
/// about a twentieth of the resize.
fn cached_taps(src: usize, dst: usize, min_width: usize) -> std::rc::Rc<Taps> {
    use std::cell::RefCell;
    use std::rc::Rc;
    type Cache = Vec<((usize, usize, usize), Rc<Taps>)>;
    thread_local! {
        static CACHE: RefCell<Cache> = const { RefCell::new(Vec::new()) };
    }
    let key = (src, dst, min_width);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((_, t)) = c.iter().find(|(k, _)| *k == key) {
            return Rc::clone(t);
        }
        let t = Rc::new(taps(src, dst, min_width));
        if c.len() >= 8 {
            c.remove(0);
        }
        c.push((key, Rc::clone(&t)));
        t
    })
}

/// Triangle (linear) filter, widened by the scale factor when shrinking so
/// that every source sample contributes (an area-like average). Windows
/// are at least `min_width` long when the input allows.
fn taps(src: usize, dst: usize, min_width: usize) -> Taps {
    let scale = src as f64 / dst as f64;
    let support = scale.max(1.0);
    // (first source index, weights) of each output, zero weights trimmed.
    let mut raw: Vec<(usize, usize)> = Vec::with_capacity(dst);
    let mut ws: Vec<f64> = Vec::with_capacity(dst * ((2.0 * support).ceil() as usize + 2));
    for o in 0..dst {
        let centre = (o as f64 + 0.5) * scale;
        let lo = ((centre - support).floor().max(0.0)) as usize;
        let hi = ((centre + support).ceil() as usize).min(src);
        let w = |s: usize| (1.0 - ((s as f64 + 0.5 - centre) / support).abs()).max(0.0);
        let first = (lo..hi).find(|&s| w(s) > 0.0);
        let last = (lo..hi).rev().find(|&s| w(s) > 0.0);
        let from = ws.len();
        match (first, last) {
            (Some(a), Some(b)) => {
                let sum: f64 = (a..=b).map(w).sum();
                ws.extend((a..=b).map(|s| w(s) / sum));
                raw.push((a, ws.len() - from));
            }
            // Degenerate (should not happen): nearest sample.
            _ => {
                ws.push(1.0);
                raw.push(((centre as usize).min(src - 1), 1));
            }
        }
    }
    let width = raw
        .iter()
        .map(|&(_, n)| n)
        .max()
        .unwrap_or(1)
        .max(min_width.min(src));
    let mut t = Taps {
        start: Vec::with_capacity(dst),
        weights: vec![0.0; dst * width],
        width,
    };
    let mut at = 0;
    for (o, &(first, n)) in raw.iter().enumerate() {
        let start = first.min(src - width);
        let off = o * width + first - start;
        for (d, &w) in t.weights[off..off + n].iter_mut().zip(&ws[at..at + n]) {
            *d = w as f32;
        }
        t.start.push(start);
        at += n;
    }
    t
}

/// One row of interleaved RGB (`src` as `f32`, one spare value at the end)
/// filtered along x into `out` (also one spare value). Each pixel is
/// computed as four lanes, the fourth spilling into the next pixel, which
/// overwrites it: fixed-size arrays the compiler keeps in vector registers.
/// `weights` holds each tap's weight four times over (a lane each).
fn filter_row_rgb<const N: usize>(
    src: &[f32],
    out: &mut [f32],
    starts: &[usize],
    weights: &[[f32; 4]],
) {
    for ((o, &s0), ws) in (0..starts.len()).zip(starts).zip(weights.chunks_exact(N)) {
        let mut acc = [0f32; 4];
        let window = &src[s0 * 3..(s0 + N) * 3 + 1];
        for (k, wt) in ws.iter().enumerate() {
            let p: &[f32; 4] = window[k * 3..k * 3 + 4].try_into().unwrap();
            for c in 0..4 {
                acc[c] += wt[c] * p[c];
            }
        }
        out[o * 3..o * 3 + 4].copy_from_slice(&acc);
    }
}

/// [`filter_row_rgb`] for one window width: `(src, out, starts, weights)`.
type RowFilter = fn(&[f32], &mut [f32], &[usize], &[[f32; 4]]);

/// [`filter_row_rgb`] for any window width.
fn filter_row_rgb_any(src: &[f32], out: &mut [f32], starts: &[usize], weights: &[[f32; 4]]) {
    let n = weights.len() / starts.len().max(1);
    for ((o, &s0), ws) in (0..starts.len()).zip(starts).zip(weights.chunks_exact(n)) {
        let mut acc = [0f32; 4];
        for (k, wt) in ws.iter().enumerate() {
            let p: &[f32; 4] = src[(s0 + k) * 3..(s0 + k) * 3 + 4].try_into().unwrap();
            for c in 0..4 {
                acc[c] += wt[c] * p[c];
            }
        }
        out[o * 3..o * 3 + 4].copy_from_slice(&acc);
    }
}

/// Resize to exactly `w` x `h` with a triangle filter. Source rows are
/// filtered along x once each, into a ring of as many rows as the vertical
/// window, and combined down y into each output row: the working set stays
/// a few rows.
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (w, h) = (w.max(1) as usize, h.max(1) as usize);
    if (sw, sh) == (w, h) {
        return img.clone();
    }
    if sw == 0 || sh == 0 || img.pixels.len() != sw * sh * 3 {
        return RgbImage::new(w as u32, h as u32);
    }
    let tx = cached_taps(sw, w, 2);
    let ty = cached_taps(sh, h, 1);
    let filter: RowFilter = match tx.width {
        2 => filter_row_rgb::<2>,
        3 => filter_row_rgb::<3>,
        4 => filter_row_rgb::<4>,
        5 => filter_row_rgb::<5>,
        6 => filter_row_rgb::<6>,
        _ => filter_row_rgb_any,
    };
    let lanes: Vec<[f32; 4]> = tx.weights.iter().map(|&x| [x; 4]).collect();
    if h < sh {
        return resize_down_first(img, w, h, &tx, &ty, filter, &lanes);
    }
    let ring = ty.width;
    let row_len = w * 3 + 1;
    let mut rows = vec![0f32; ring * row_len];
    let mut src = vec![0f32; sw * 3 + 1];
    let mut acc = vec![0f32; w * 3];
    let mut out = vec![0u8; w * h * 3];
    let mut next = 0; // next source row to filter
    for ((orow, &s0), ws) in out
        .chunks_exact_mut(w * 3)
        .zip(&ty.start)
        .zip(ty.weights.chunks_exact(ring))
    {
        while next < s0 + ring {
            let line = &img.pixels[next * sw * 3..(next + 1) * sw * 3];
            for (d, &s) in src.iter_mut().zip(line) {
                *d = s as f32;
            }
            let slot = next % ring;
            let out = &mut rows[slot * row_len..(slot + 1) * row_len];
            filter(&src, out, &tx.start, &lanes);
            next += 1;
        }
        acc.fill(0.0);
        for (k, &wt) in ws.iter().enumerate() {
            if wt == 0.0 {
                continue;
            }
            let slot = (s0 + k) % ring;
            let row = &rows[slot * row_len..slot * row_len + w * 3];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += wt * v;
            }
        }
        for (o, &a) in orow.iter_mut().zip(&acc) {
            *o = to_u8(a);
        }
    }
    RgbImage {
        width: w as u32,
        height: h as u32,
        pixels: out,
    }
}

/// [`resize`] when shrinking along y: source rows (as `f32`, each converted
/// once into a ring) are combined down y first, so that only the output
/// rows are filtered along x.
fn resize_down_first(
    img: &RgbImage,
    w: usize,
    h: usize,
    tx: &Taps,
    ty: &Taps,
    filter: RowFilter,
    lanes: &[[f32; 4]],
) -> RgbImage {
    let sw = img.width as usize;
    let ring = ty.width;
    let src_len = sw * 3;
    let mut rows = vec![0f32; ring * src_len];
    let mut col = vec![0f32; src_len + 1];
    let mut line = vec![0f32; w * 3 + 1];
    let mut out = vec![0u8; w * h * 3];
    let mut next = 0; // next source row to convert
    for ((orow, &s0), ws) in out
        .chunks_exact_mut(w * 3)
        .zip(&ty.start)
        .zip(ty.weights.chunks_exact(ring))
    {
        while next < s0 + ring {
            let slot = next % ring;
            let src = &img.pixels[next * src_len..(next + 1) * src_len];
            for (d, &v) in rows[slot * src_len..(slot + 1) * src_len]
                .iter_mut()
                .zip(src)
            {
                *d = v as f32;
            }
            next += 1;
        }
        let row = |k: usize| {
            let slot = (s0 + k) % ring;
            &rows[slot * src_len..(slot + 1) * src_len]
        };
        // Two or three taps (the usual shrinking by less than 2) in one
        // pass; otherwise the first tap sets the sums and the others add.
        match *ws {
            [w0, w1] => {
                for ((c, &a), &b) in col.iter_mut().zip(row(0)).zip(row(1)) {
                    *c = w0 * a + w1 * b;
                }
            }
            [w0, w1, w2] => {
                let rows3 = row(0).iter().zip(row(1)).zip(row(2));
                for (c, ((&a, &b), &d)) in col.iter_mut().zip(rows3) {
                    *c = w0 * a + w1 * b + w2 * d;
                }
            }
            _ => {
                for (c, &v) in col.iter_mut().zip(row(0)) {
                    *c = ws[0] * v;
                }
                for (k, &wt) in ws.iter().enumerate().skip(1) {
                    if wt == 0.0 {
                        continue;
                    }
                    for (c, &v) in col.iter_mut().zip(row(k)) {
                        *c += wt * v;
                    }
                }
            }
        }
        filter(&col, &mut line, &tx.start, lanes);
        for (o, &v) in orow.iter_mut().zip(&line) {
            *o = to_u8(v);
        }
    }
    RgbImage {
        width: w as u32,
        height: h as u32,
        pixels: out,
    }
}

/// `v` rounded to the nearest integer and clamped to `0..=255`: adding
/// 1.5 x 2^23 leaves the rounded value in the low mantissa bits, a form
/// that vectorises (unlike the saturating `as u8`).
#[inline(always)]
fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 255.0) + 12_582_912.0).to_bits() as u8
}

/// Resize one `f32` plane with the same filter as [`resize`] (down y
/// first: contiguous rows, which vectorise).
pub fn resize_plane(src: &[f32], sw: usize, sh: usize, w: usize, h: usize) -> Vec<f32> {
    let tx = taps(sw, w, 1);
    let ty = taps(sh, h, 1);
    let mut out = vec![0f32; w * h];
    let mut col = vec![0f32; sw];
    for ((orow, &s0), ws) in out
        .chunks_exact_mut(w)
        .zip(&ty.start)
        .zip(ty.weights.chunks_exact(ty.width))
    {
        col.fill(0.0);
        for (k, &wt) in ws.iter().enumerate() {
            for (c, &s) in col.iter_mut().zip(&src[(s0 + k) * sw..(s0 + k + 1) * sw]) {
                *c += wt * s;
            }
        }
        for ((o, &x0), wx) in orow
            .iter_mut()
            .zip(&tx.start)
            .zip(tx.weights.chunks_exact(tx.width))
        {
            *o = col[x0..x0 + tx.width]
                .iter()
                .zip(wx)
                .map(|(p, wt)| p * wt)
                .sum();
        }
    }
    out
}

/// Halve an image by averaging 2 x 2 blocks (odd last row/column dropped).
pub fn halve(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width as usize, img.height as usize);
    let (hw, hh) = ((w / 2).max(1), (h / 2).max(1));
    if w < 2 || h < 2 {
        return img.clone();
    }
    let mut out = vec![0u8; hw * hh * 3];
    // Each pair of rows is summed, then each pixel of the sum with its
    // right neighbour (whole rows, which vectorise); every other pixel of
    // that is an output pixel.
    let mut pair = vec![0u16; w * 3];
    let mut quad = vec![0u16; w * 3];
    for (orow, rows) in out
        .chunks_exact_mut(hw * 3)
        .zip(img.pixels.chunks_exact(2 * w * 3))
    {
        let (a, b) = rows.split_at(w * 3);
        for ((p, &x), &y) in pair.iter_mut().zip(a).zip(b) {
            *p = x as u16 + y as u16 + 1;
        }
        for ((q, &l), &r) in quad.iter_mut().zip(&pair).zip(&pair[3..]) {
            *q = (l + r) >> 2;
        }
        for (o, q) in orow.chunks_exact_mut(3).zip(quad.chunks_exact(6)) {
            o.copy_from_slice(&[q[0] as u8, q[1] as u8, q[2] as u8]);
        }
    }
    RgbImage {
        width: hw as u32,
        height: hh as u32,
        pixels: out,
    }
}

/// Halve a plane by averaging 2 x 2 blocks (odd last row/column dropped).
pub fn halve_plane(src: &[f32], w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    let (hw, hh) = (w / 2, h / 2);
    let mut out = Vec::with_capacity(hw * hh);
    for y in 0..hh {
        let (a, b) = (
            &src[2 * y * w..2 * y * w + w],
            &src[(2 * y + 1) * w..(2 * y + 2) * w],
        );
        for x in 0..hw {
            out.push(0.25 * (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]));
        }
    }
    (out, hw, hh)
}

/// Size that fits `w` x `h` into a `max` x `max` box keeping the aspect
/// ratio (never enlarging).
pub fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    if w <= max && h <= max {
        return (w, h);
    }
    if w >= h {
        (
            max,
            ((h as u64 * max as u64 + w as u64 / 2) / w as u64).max(1) as u32,
        )
    } else {
        (
            ((w as u64 * max as u64 + h as u64 / 2) / h as u64).max(1) as u32,
            max,
        )
    }
}

/// Widths of `n` box filters whose succession approximates a Gaussian of
/// standard deviation `sigma` (W. Jarosz / P. Kutskir construction).
pub fn box_sizes(sigma: f32, n: usize) -> Vec<usize> {
    let w_ideal = (12.0 * sigma * sigma / n as f32 + 1.0).sqrt();
    let mut wl = w_ideal.floor() as i64;
    if wl % 2 == 0 {
        wl -= 1;
    }
    let wl = wl.max(1);
    let wu = wl + 2;
    let nf = n as f32;
    let m = ((12.0 * sigma * sigma - nf * (wl * wl) as f32 - 4.0 * nf * wl as f32 - 3.0 * nf)
        / (-4.0 * wl as f32 - 4.0))
        .round() as i64;
    (0..n as i64)
        .map(|i| if i < m { wl as usize } else { wu as usize })
        .collect()
}

/// One box blur of odd width `size` along rows, edges extended: each row
/// is extended by `size / 2` copies of its end pixels, summed into a
/// running prefix, and every window is the difference of two prefixes.
fn box_rows_wide(src: &[u8], dst: &mut [u8], w: usize, size: usize) {
    let r = size / 2;
    let inv = (1u32 << 16) / size as u32;
    let mut prefix = vec![0u32; (w + 2 * r + 1) * 3];
    for (srow, drow) in src.chunks_exact(w * 3).zip(dst.chunks_exact_mut(w * 3)) {
        let (first, last) = (&srow[..3], &srow[(w - 1) * 3..]);
        let padded = std::iter::repeat_n(first, r)
            .chain(srow.chunks_exact(3))
            .chain(std::iter::repeat_n(last, r));
        // Running sums in registers (a store-then-load chain is slow).
        let mut run = [0u32; 3];
        for (p, out) in padded.zip(prefix[3..].chunks_exact_mut(3)) {
            for (r, &v) in run.iter_mut().zip(p) {
                *r += v as u32;
            }
            out.copy_from_slice(&run);
        }
        let span = (2 * r + 1) * 3;
        for ((d, &hi), &lo) in drow.iter_mut().zip(&prefix[span..]).zip(&prefix[..]) {
            *d = (((hi - lo) * inv + (1 << 15)) >> 16) as u8;
        }
    }
}

/// One box blur of odd width `size` along columns, edges extended; works
/// row by row with a running sum per column.
fn box_cols_wide(src: &[u8], dst: &mut [u8], w: usize, h: usize, size: usize) {
    let r = size as isize / 2;
    let stride = w * 3;
    let row = |y: isize| {
        let y = y.clamp(0, h as isize - 1) as usize;
        &src[y * stride..(y + 1) * stride]
    };
    let mut sum = vec![0u32; stride];
    for y in -r..=r {
        for (s, &v) in sum.iter_mut().zip(row(y)) {
            *s += v as u32;
        }
    }
    let inv = (1u32 << 16) / size as u32;
    for (y, drow) in dst.chunks_exact_mut(stride).enumerate() {
        for (d, &s) in drow.iter_mut().zip(&sum) {
            *d = ((s * inv + (1 << 15)) >> 16) as u8;
        }
        let (add, sub) = (row(y as isize + r + 1), row(y as isize - r));
        for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
            *s = *s + a as u32 - b as u32;
        }
    }
}

/// Widest box [`box_rows`] and [`box_cols`] take (from 3): their sums stay
/// in 16 bits and the window is summed term by term.
const NARROW_BOX: usize = 31;

/// `(s * inv + 2^15) >> 16`, the rounding of the wide passes, as
/// `(high16(2 s * inv) + 1) >> 1` (the same value), which vectorises to a
/// 16-bit high multiply; `2 s` fits 16 bits for windows up to
/// [`NARROW_BOX`].
#[inline(always)]
fn scale16(s: u16, inv: u16) -> u8 {
    let high = ((2 * s) as u32 * inv as u32) >> 16;
    ((high as u16 + 1) >> 1) as u8
}

/// [`box_rows_wide`] for windows up to [`NARROW_BOX`]: the row, extended by
/// its end pixels, is added to itself shifted by one pixel at a time.
fn box_rows(src: &[u8], dst: &mut [u8], w: usize, size: usize) {
    let r = size / 2;
    let inv = ((1u32 << 16) / size as u32) as u16;
    let mut padded = vec![0u16; (w + 2 * r) * 3];
    let mut sums = vec![0u16; w * 3];
    for (srow, drow) in src.chunks_exact(w * 3).zip(dst.chunks_exact_mut(w * 3)) {
        pad_row(srow, &mut padded, r);
        sums.copy_from_slice(&padded[..w * 3]);
        for k in 1..size {
            for (s, &v) in sums.iter_mut().zip(&padded[k * 3..]) {
                *s += v;
            }
        }
        for (d, &s) in drow.iter_mut().zip(&sums) {
            *d = scale16(s, inv);
        }
    }
}

/// [`box_cols_wide`] for windows up to [`NARROW_BOX`], in 16 bits.
fn box_cols(src: &[u8], dst: &mut [u8], w: usize, h: usize, size: usize) {
    let r = size as isize / 2;
    let stride = w * 3;
    let row = |y: isize| {
        let y = y.clamp(0, h as isize - 1) as usize;
        &src[y * stride..(y + 1) * stride]
    };
    let mut sum = vec![0u16; stride];
    for y in -r..=r {
        for (s, &v) in sum.iter_mut().zip(row(y)) {
            *s += v as u16;
        }
    }
    let inv = ((1u32 << 16) / size as u32) as u16;
    for (y, drow) in dst.chunks_exact_mut(stride).enumerate() {
        for (d, &s) in drow.iter_mut().zip(&sum) {
            *d = scale16(s, inv);
        }
        let (add, sub) = (row(y as isize + r + 1), row(y as isize - r));
        for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
            *s = *s + a as u16 - b as u16;
        }
    }
}

/// The three box blurs of `sizes` as one integer kernel (their
/// convolution, weights summing to the product of the sizes), when its
/// sums fit 16 bits: one pass per axis instead of three, rounded once.
fn box_kernel(sizes: &[usize]) -> Option<Vec<u16>> {
    let total: usize = sizes.iter().product();
    if total * 255 > u16::MAX as usize {
        return None;
    }
    let mut k = vec![1u16];
    for &n in sizes {
        let mut next = vec![0u16; k.len() + n - 1];
        for (i, &v) in k.iter().enumerate() {
            for d in &mut next[i..i + n] {
                *d += v;
            }
        }
        k = next;
    }
    Some(k)
}

/// How [`gaussian_blur`] computes a blur of `sigma`, in the words of the
/// derivatives' transform descriptions.
pub fn blur_method(sigma: f32) -> &'static str {
    if sigma <= 0.0 {
        "no blur (sigma 0)"
    } else if box_kernel(&box_sizes(sigma, 3)).is_some() {
        "three box filters convolved into one kernel per axis"
    } else {
        "three box passes"
    }
}

/// `s / total` rounded, for the `inv = 2^16 / total` of a kernel.
#[inline(always)]
fn scale_kernel(s: u16, inv: u32) -> u8 {
    ((s as u32 * inv + (1 << 15)) >> 16) as u8
}

/// The RGB row `srow` into `padded` as u16, extended by `r` copies of its end pixels on
/// each side.
fn pad_row(srow: &[u8], padded: &mut [u16], r: usize) {
    let w = srow.len() / 3;
    let (first, last) = (&srow[..3], &srow[(w - 1) * 3..]);
    let (left, rest) = padded.split_at_mut(r * 3);
    let (mid, right) = rest.split_at_mut(w * 3);
    for (d, &v) in left.iter_mut().zip(first.iter().cycle()) {
        *d = v as u16;
    }
    for (d, &v) in mid.iter_mut().zip(srow) {
        *d = v as u16;
    }
    for (d, &v) in right.iter_mut().zip(last.iter().cycle()) {
        *d = v as u16;
    }
}

/// Convolve rows with `kernel` (odd length), edges extended.
fn kernel_rows(src: &[u8], dst: &mut [u8], w: usize, kernel: &[u16]) {
    let r = kernel.len() / 2;
    let total: u32 = kernel.iter().map(|&k| k as u32).sum();
    let inv = (1u32 << 16) / total;
    let mut padded = vec![0u16; (w + 2 * r) * 3];
    let mut sums = vec![0u16; w * 3];
    for (srow, drow) in src.chunks_exact(w * 3).zip(dst.chunks_exact_mut(w * 3)) {
        pad_row(srow, &mut padded, r);
        for (s, &v) in sums.iter_mut().zip(&padded) {
            *s = kernel[0] * v;
        }
        for (k, &wt) in kernel.iter().enumerate().skip(1) {
            for (s, &v) in sums.iter_mut().zip(&padded[k * 3..]) {
                *s += wt * v;
            }
        }
        for (d, &s) in drow.iter_mut().zip(&sums) {
            *d = scale_kernel(s, inv);
        }
    }
}

/// Convolve columns with `kernel` (odd length), edges extended.
fn kernel_cols(src: &[u8], dst: &mut [u8], w: usize, h: usize, kernel: &[u16]) {
    let r = kernel.len() as isize / 2;
    let stride = w * 3;
    let total: u32 = kernel.iter().map(|&k| k as u32).sum();
    let inv = (1u32 << 16) / total;
    let row = |y: isize| {
        let y = y.clamp(0, h as isize - 1) as usize;
        &src[y * stride..(y + 1) * stride]
    };
    let mut sums = vec![0u16; stride];
    for (y, drow) in dst.chunks_exact_mut(stride).enumerate() {
        let y = y as isize - r;
        for (s, &v) in sums.iter_mut().zip(row(y)) {
            *s = kernel[0] * v as u16;
        }
        for (k, &wt) in kernel.iter().enumerate().skip(1) {
            for (s, &v) in sums.iter_mut().zip(row(y + k as isize)) {
                *s += wt * v as u16;
            }
        }
        for (d, &s) in drow.iter_mut().zip(&sums) {
            *d = scale_kernel(s, inv);
        }
    }
}

/// Gaussian blur of standard deviation `sigma` pixels, approximated by three
/// successive box blurs along each axis (as one kernel per axis when
/// [`box_kernel`] allows).
pub fn gaussian_blur(img: &RgbImage, sigma: f32) -> RgbImage {
    let (w, h) = (img.width as usize, img.height as usize);
    if sigma <= 0.0 || w == 0 || h == 0 {
        return img.clone();
    }
    let sizes = box_sizes(sigma, 3);
    if let Some(kernel) = box_kernel(&sizes) {
        // Keep `blur_method` in step with this choice.
        let mut tmp = vec![0u8; img.pixels.len()];
        let mut out = vec![0u8; img.pixels.len()];
        kernel_rows(&img.pixels, &mut tmp, w, &kernel);
        kernel_cols(&tmp, &mut out, w, h, &kernel);
        return RgbImage {
            width: img.width,
            height: img.height,
            pixels: out,
        };
    }
    let mut a = img.pixels.clone();
    let mut b = vec![0u8; a.len()];
    for size in sizes {
        match size {
            1 => {}
            2..=NARROW_BOX => {
                box_rows(&a, &mut b, w, size);
                box_cols(&b, &mut a, w, h, size);
            }
            _ => {
                box_rows_wide(&a, &mut b, w, size);
                box_cols_wide(&b, &mut a, w, h, size);
            }
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        pixels: a,
    }
}

/// Apply EXIF orientation `o` (1-8) so that the result displays upright.
/// Other values leave the image as it is.
pub fn orient(img: &RgbImage, o: u16) -> RgbImage {
    if !(2..=8).contains(&o) {
        return img.clone();
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let (ow, oh) = if o >= 5 { (h, w) } else { (w, h) };
    let mut out = vec![0u8; w * h * 3];
    for y in 0..oh {
        for x in 0..ow {
            let (sx, sy) = match o {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x),
            };
            let s = (sy * w + sx) * 3;
            let d = (y * ow + x) * 3;
            out[d..d + 3].copy_from_slice(&img.pixels[s..s + 3]);
        }
    }
    RgbImage {
        width: ow as u32,
        height: oh as u32,
        pixels: out,
    }
}

/// Mirror left-right.
pub fn mirror(img: &RgbImage) -> RgbImage {
    orient(img, 2)
}

/// Crop the rectangle `(x, y, w, h)` (clipped to the image).
pub fn crop(img: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    let x = x.min(img.width);
    let y = y.min(img.height);
    let w = w.min(img.width - x);
    let h = h.min(img.height - y);
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for row in y..y + h {
        let s = (row as usize * img.width as usize + x as usize) * 3;
        out.extend_from_slice(&img.pixels[s..s + w as usize * 3]);
    }
    RgbImage {
        width: w,
        height: h,
        pixels: out,
    }
}

/// Encode as baseline JPEG (4:2:0, chroma averaged over 2 x 2 pixels) at
/// `quality` (see [`crate::jpeg_encode`]).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    crate::jpeg_encode::encode_rgb(&img.pixels, img.width, img.height, quality)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                img.put(x, y, [(x * 255 / w) as u8, (y * 255 / h) as u8, 100]);
            }
        }
        img
    }

    #[test]
    fn resize_keeps_flat_colour_and_gradient() {
        let mut flat = RgbImage::new(37, 23);
        flat.pixels.iter_mut().for_each(|p| *p = 77);
        for (w, h) in [(10, 7), (74, 46), (37, 23), (1, 1)] {
            let r = resize(&flat, w, h);
            assert!(r.pixels.iter().all(|&p| p == 77), "{w}x{h}");
        }
        let g = gradient(400, 300);
        let r = resize(&g, 100, 75);
        let left = r.get(5, 40)[0] as i32;
        let right = r.get(95, 40)[0] as i32;
        assert!(
            (left - 16).abs() <= 3 && (right - 242).abs() <= 3,
            "{left} {right}"
        );
    }

    #[test]
    fn blur_box_sizes_and_energy() {
        assert_eq!(box_sizes(1.0, 3).len(), 3);
        let mut img = RgbImage::new(41, 41);
        img.put(20, 20, [255, 255, 255]);
        let b = gaussian_blur(&img, 3.0);
        let centre = b.get(20, 20)[0];
        assert!(centre > 0 && centre < 20, "{centre}");
        assert!(b.get(0, 0)[0] == 0);
    }

    #[test]
    fn narrow_box_passes_equal_the_wide_ones() {
        let (w, h) = (37, 23);
        let src: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
        for size in (3..=NARROW_BOX).step_by(2) {
            let (mut a, mut b) = (vec![0u8; src.len()], vec![0u8; src.len()]);
            box_rows(&src, &mut a, w, size);
            box_rows_wide(&src, &mut b, w, size);
            assert_eq!(a, b, "rows, size {size}");
            box_cols(&src, &mut a, w, h, size);
            box_cols_wide(&src, &mut b, w, h, size);
            assert_eq!(a, b, "columns, size {size}");
        }
        // Wide windows (past the 16-bit sums) still blur.
        let mut img = RgbImage::new(80, 80);
        img.put(40, 40, [255, 255, 255]);
        let b = gaussian_blur(&img, 40.0);
        assert!(b.get(40, 40)[0] <= 1 && b.get(0, 0) == [0, 0, 0]);
    }

    #[test]
    fn box_kernel_is_the_three_boxes() {
        assert_eq!(box_kernel(&[3, 3, 3]).unwrap(), [1, 3, 6, 7, 6, 3, 1]);
        assert_eq!(box_kernel(&[5, 5, 5]).unwrap().iter().sum::<u16>(), 125);
        assert!(box_kernel(&[9, 9, 9]).is_none());
        // Away from the edges the kernel gives the three passes' result,
        // rounded once instead of six times.
        let (w, h) = (40, 30);
        let src: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
        for sizes in [[3, 3, 3], [3, 3, 5], [5, 5, 5], [5, 5, 7]] {
            let k = box_kernel(&sizes).unwrap();
            let (mut t, mut once) = (vec![0u8; src.len()], vec![0u8; src.len()]);
            kernel_rows(&src, &mut t, w, &k);
            kernel_cols(&t, &mut once, w, h, &k);
            let (mut a, mut b) = (src.clone(), vec![0u8; src.len()]);
            for &n in &sizes {
                box_rows_wide(&a, &mut b, w, n);
                box_cols_wide(&b, &mut a, w, h, n);
            }
            let r = k.len() / 2;
            for y in r..h - r {
                for x in r * 3..(w - r) * 3 {
                    let (p, q) = (once[y * w * 3 + x], a[y * w * 3 + x]);
                    assert!(p.abs_diff(q) <= 2, "{sizes:?} at ({x}, {y}): {p} vs {q}");
                }
            }
        }
    }

    /// The triangle filter straight from its definition, in f64.
    fn resize_reference(img: &RgbImage, w: usize, h: usize) -> Vec<f64> {
        let axis = |src: usize, dst: usize| -> Vec<Vec<f64>> {
            let scale = src as f64 / dst as f64;
            let support = scale.max(1.0);
            (0..dst)
                .map(|o| {
                    let centre = (o as f64 + 0.5) * scale;
                    let ws: Vec<f64> = (0..src)
                        .map(|s| (1.0 - ((s as f64 + 0.5 - centre) / support).abs()).max(0.0))
                        .collect();
                    let sum: f64 = ws.iter().sum();
                    ws.iter().map(|w| w / sum).collect()
                })
                .collect()
        };
        let (sw, sh) = (img.width as usize, img.height as usize);
        let (ax, ay) = (axis(sw, w), axis(sh, h));
        let mut out = vec![0f64; w * h * 3];
        for (y, wy) in ay.iter().enumerate() {
            for (x, wx) in ax.iter().enumerate() {
                for c in 0..3 {
                    let mut v = 0.0;
                    for (sy, &a) in wy.iter().enumerate().filter(|(_, &a)| a > 0.0) {
                        for (sx, &b) in wx.iter().enumerate().filter(|(_, &b)| b > 0.0) {
                            v += a * b * img.pixels[(sy * sw + sx) * 3 + c] as f64;
                        }
                    }
                    out[(y * w + x) * 3 + c] = v;
                }
            }
        }
        out
    }

    #[test]
    fn resize_matches_the_filter_definition() {
        let mut img = RgbImage::new(61, 47);
        for (i, p) in img.pixels.iter_mut().enumerate() {
            *p = ((i * 7919 + i / 183 * 31) % 256) as u8;
        }
        // Shrinking (2 to 6 taps and more), enlarging, and both at once.
        for (w, h) in [
            (49, 38),
            (40, 30),
            (25, 19),
            (20, 15),
            (12, 9),
            (5, 4),
            (97, 80),
            (30, 90),
            (122, 20),
        ] {
            let got = resize(&img, w, h);
            let want = resize_reference(&img, w as usize, h as usize);
            let worst = got
                .pixels
                .iter()
                .zip(&want)
                .map(|(&g, &r)| (g as f64 - r).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 0.51, "{w}x{h}: off by {worst}");
        }
    }

    #[test]
    fn halve_averages_2x2_blocks() {
        let g = gradient(9, 7);
        let h = halve(&g);
        assert_eq!((h.width, h.height), (4, 3));
        for (x, y) in [(0, 0), (3, 2), (1, 2)] {
            let px = |dx, dy| g.get(2 * x + dx, 2 * y + dy);
            for c in 0..3 {
                let s: u32 = [px(0, 0), px(1, 0), px(0, 1), px(1, 1)]
                    .iter()
                    .map(|p| p[c] as u32)
                    .sum();
                assert_eq!(h.get(x, y)[c] as u32, (s + 2) / 4, "({x}, {y})");
            }
        }
    }

    #[test]
    fn orientations_round_trip() {
        let g = gradient(5, 3);
        // 6 (rotate CW) then 8 (rotate CCW) is the identity.
        assert_eq!(orient(&orient(&g, 6), 8), g);
        assert_eq!(orient(&orient(&g, 3), 3), g);
        assert_eq!(orient(&orient(&g, 5), 5), g);
        assert_eq!(orient(&orient(&g, 7), 7), g);
        let r = orient(&g, 6);
        assert_eq!((r.width, r.height), (3, 5));
        // Output top-left is the source bottom-left.
        assert_eq!(r.get(0, 0), g.get(0, 2));
        assert_eq!(fit(1600, 1200, 320), (320, 240));
        assert_eq!(fit(1200, 1600, 320), (240, 320));
        assert_eq!(fit(100, 50, 320), (100, 50));
    }
}
