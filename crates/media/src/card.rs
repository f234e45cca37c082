//! A simple reader for the numbered identification card.
//!
//! The card format (the one the synthetic collection prints, documented in
//! `docs/formats/media.md`): white paper, a grid of [`CARD_W`] x [`CARD_H`]
//! square dots, up to three left-aligned lines of at most eight 5 x 7 dot
//! glyphs (`0-9` and `/`) in black: the detainee number, the branch number
//! (empty for Air Force Intelligence) and the forensic report number
//! `number/yy`.
//!
//! Steps:
//! 1. **find** bright connected regions (at half resolution, over a range of
//!    thresholds, since lighting varies) whose size, fill and aspect ratio
//!    fit a card; their principal axes and extents give a first pose
//!    (centre, angle, dot size);
//! 2. **segment**: the layout is fixed, so each glyph cell sits at known dot
//!    coordinates; the pose is refined by local search so that samples at
//!    dot centres are as close as possible to clean glyphs;
//! 3. **match**: each cell's 35 samples, normalised between the paper and
//!    ink levels, are compared with the 11 glyph templates and the blank
//!    cell (sum of squared differences).

use serde::Serialize;

use crate::RgbImage;

/// Glyph width and height in dots.
pub const GLYPH_W: usize = 5;
pub const GLYPH_H: usize = 7;
/// Distance between the left edges of two characters, in dots.
pub const CHAR_ADVANCE: usize = GLYPH_W + 1;
/// Distance between the top edges of two lines, in dots.
pub const LINE_ADVANCE: usize = GLYPH_H + 4;
/// Blank paper left of and above the text, in dots.
pub const MARGIN_X: usize = 4;
pub const MARGIN_Y: usize = 4;
/// Characters per line and lines per card.
pub const MAX_CHARS: usize = 8;
pub const LINES: usize = 3;
/// Card size in dots.
pub const CARD_W: usize = 2 * MARGIN_X + MAX_CHARS * CHAR_ADVANCE - 1;
pub const CARD_H: usize = 2 * MARGIN_Y + (LINES - 1) * LINE_ADVANCE + GLYPH_H;

/// Dots inside glyph cells.
const CELL_DOTS: f32 = (LINES * MAX_CHARS * GLYPH_W * GLYPH_H) as f32;

/// Residual below which a reading is taken at once (real cards read at
/// about 0.0002-0.0008).
const GOOD_RESIDUAL: f32 = 0.003;

/// Residual (with stray ink) at which the pose search stops refining.
const SETTLED_RESIDUAL: f32 = 0.0015;

/// Largest [`CardNumbers::residual`] accepted for a card with writing.
pub const MAX_RESIDUAL: f32 = 0.01;

/// Plausible dot sizes, as fractions of the photo's long side (cards in the collection
/// measure 0.0034-0.0058).
const DOT_MIN: f32 = 0.0030;
const DOT_MAX: f32 = 0.0062;

/// Decode width [`crate::analyze`] uses when asked to read cards: one dot
/// is then about 3 pixels or more on a card that spans a fifth of the frame.
pub const MIN_WIDTH: u32 = 800;

/// The card font: characters and their 5 x 7 bitmaps (`#` = ink).
pub const FONT: [(char, [&str; GLYPH_H]); 11] = [
    (
        '0',
        [
            ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.",
        ],
    ),
    (
        '1',
        [
            "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.",
        ],
    ),
    (
        '2',
        [
            ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####",
        ],
    ),
    (
        '3',
        [
            "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###.",
        ],
    ),
    (
        '4',
        [
            "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.",
        ],
    ),
    (
        '5',
        [
            "#####", "#....", "####.", "....#", "....#", "#...#", ".###.",
        ],
    ),
    (
        '6',
        [
            "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '7',
        [
            "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...",
        ],
    ),
    (
        '8',
        [
            ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '9',
        [
            ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##..",
        ],
    ),
    (
        '/',
        [
            "....#", "....#", "...#.", "..#..", ".#...", "#....", "#....",
        ],
    ),
];

/// Numbers read from a card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardNumbers {
    /// Line 1 when it is a number.
    pub detainee: Option<String>,
    /// Line 2 when it is a number (empty on cards of Air Force Intelligence
    /// bodies in the synthetic collection).
    pub branch: Option<String>,
    /// Line 3 when it has the form `number/yy`.
    pub report: Option<String>,
    /// The three lines as read (`?` marks a cell that matched nothing well).
    pub lines: [String; 3],
    /// Smallest template-match margin over the non-blank cells (0-35; more
    /// is surer; below about 4 a digit may be wrong).
    pub confidence: f32,
    /// Mean squared difference between the samples and the chosen templates,
    /// per dot (0 is a perfect print; readings above [`MAX_RESIDUAL`] are
    /// rejected).
    pub residual: f32,
    /// Card corners in image pixels (top-left, top-right, bottom-right,
    /// bottom-left in card coordinates).
    pub corners: [(f32, f32); 4],
}

impl CardNumbers {
    /// Whether the card carries no writing.
    pub fn is_blank(&self) -> bool {
        self.lines.iter().all(|l| l.is_empty())
    }
}

fn templates() -> &'static [[f32; GLYPH_W * GLYPH_H]; 12] {
    use std::sync::OnceLock;
    static T: OnceLock<[[f32; GLYPH_W * GLYPH_H]; 12]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [[0f32; GLYPH_W * GLYPH_H]; 12];
        for (g, (_, rows)) in FONT.iter().enumerate() {
            for (r, row) in rows.iter().enumerate() {
                for (c, ch) in row.chars().enumerate() {
                    t[g][r * GLYPH_W + c] = if ch == '#' { 1.0 } else { 0.0 };
                }
            }
        }
        // t[11] stays blank.
        t
    })
}

/// Card pose: centre, angle of the card's x axis, dot size (all in pixels
/// of the image being read).
#[derive(Debug, Clone, Copy)]
struct Pose {
    pub cx: f32,
    pub cy: f32,
    pub angle: f32,
    pub dot: f32,
}

impl Pose {
    /// This pose, found on an image of half the size (2 x 2 averages), at full size.
    fn at_full_size(&self) -> Pose {
        Pose {
            cx: self.cx * 2.0 + 1.0,
            cy: self.cy * 2.0 + 1.0,
            angle: self.angle,
            dot: self.dot * 2.0,
        }
    }

    /// Image position of card point `(u, v)` (in dots, from the top-left).
    #[inline]
    fn map(&self, u: f32, v: f32) -> (f32, f32) {
        let du = (u - CARD_W as f32 * 0.5) * self.dot;
        let dv = (v - CARD_H as f32 * 0.5) * self.dot;
        let (s, c) = self.angle.sin_cos();
        (self.cx + du * c - dv * s, self.cy + du * s + dv * c)
    }

    /// Image position of card point (0, 0) and the steps of one dot along the card's
    /// axes: point `(u, v)` is at `origin + u * ex + v * ey`.
    #[inline]
    fn basis(&self) -> ((f32, f32), (f32, f32), (f32, f32)) {
        let (s, c) = self.angle.sin_cos();
        let ex = (c * self.dot, s * self.dot);
        let ey = (-s * self.dot, c * self.dot);
        (self.map(0.0, 0.0), ex, ey)
    }
}

/// A grey image sampled between pixel centres.
trait Plane {
    /// Width and height in pixels.
    fn size(&self) -> (usize, usize);

    /// The grey level of pixel `(x, y)`.
    fn at(&self, x: usize, y: usize) -> f32;

    /// Bilinear sample at `(x, y)` (pixel centres at +0.5), clamped at the borders.
    #[inline]
    fn sample(&self, x: f32, y: f32) -> f32 {
        let (w, h) = self.size();
        let x = (x - 0.5).clamp(0.0, (w - 1) as f32);
        let y = (y - 0.5).clamp(0.0, (h - 1) as f32);
        // Through i32: a cast of f32 to usize costs several times more, and x, y are
        // clamped to the image already.
        let (x0, y0) = (x as i32 as usize, y as i32 as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) + (self.at(x1, y0) - self.at(x0, y0)) * fx;
        let bot = self.at(x0, y1) + (self.at(x1, y1) - self.at(x0, y1)) * fx;
        top + (bot - top) * fy
    }
}

/// Rec. 601 luma of an RGB pixel, rounded as [`RgbImage::luma_u8`] rounds it.
#[inline]
fn luma(p: &[u8]) -> u32 {
    (77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8
}

/// The luma of an image, worked out where it is sampled: the gate samples a few thousand
/// points of a photo, far fewer than it has pixels.
struct LumaOf<'a>(&'a RgbImage);

impl Plane for LumaOf<'_> {
    #[inline]
    fn size(&self) -> (usize, usize) {
        (self.0.width as usize, self.0.height as usize)
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        let i = (y * self.0.width as usize + x) * 3;
        luma(&self.0.pixels[i..i + 3]) as f32
    }
}

/// Luma as `f32`, for the reader, which samples each pixel many times.
struct Gray {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Plane for Gray {
    #[inline]
    fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        self.px[y * self.w + x]
    }
}

impl Gray {
    /// Luma of the part `x0..x1`, `y0..y1` of `img`.
    fn of(img: &RgbImage, x0: usize, y0: usize, x1: usize, y1: usize) -> Gray {
        let iw = img.width as usize;
        let mut px = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            let row = &img.pixels[(y * iw + x0) * 3..(y * iw + x1) * 3];
            px.extend(row.chunks_exact(3).map(|p| luma(p) as f32));
        }
        Gray {
            w: x1 - x0,
            h: y1 - y0,
            px,
        }
    }
}

/// Whether dot `(u, v)` lies inside a glyph cell.
#[inline]
fn in_cell(u: usize, v: usize) -> bool {
    IN_CELL[v][u]
}

/// [`in_cell`] for every dot of the card, worked out once (the reader asks for every dot of
/// every pose it tries).
const IN_CELL: [[bool; CARD_W]; CARD_H] = {
    let mut t = [[false; CARD_W]; CARD_H];
    let mut v = MARGIN_Y;
    while v < CARD_H {
        let mut u = MARGIN_X;
        while u < CARD_W {
            let (cu, cv) = (u - MARGIN_X, v - MARGIN_Y);
            t[v][u] = cu % CHAR_ADVANCE < GLYPH_W
                && cu / CHAR_ADVANCE < MAX_CHARS
                && cv % LINE_ADVANCE < GLYPH_H
                && cv / LINE_ADVANCE < LINES;
            u += 1;
        }
        v += 1;
    }
    t
};

struct Reading {
    /// Sum of the best SSD over all cells (lower is crisper).
    cost: f32,
    /// Sum of squared darkness of the paper between and around the cells (inside the
    /// outer ring), where a well-placed pose sees none: it tells a pose one character or
    /// line off, which the cells alone may read as well as the right one.
    stray: f32,
    lines: [String; 3],
    confidence: f32,
    contrast: f32,
}

impl Reading {
    /// Whether the card shows writing (ink well below the paper).
    fn writing(&self) -> bool {
        self.contrast >= 40.0
    }

    /// What the pose search minimises.
    fn fit(&self) -> f32 {
        self.cost + self.stray
    }

    /// Order of preference: writing first, then the crisper reading.
    fn rank(&self) -> (bool, f32) {
        (self.writing(), -self.fit())
    }
}

fn read_at(g: &Gray, p: &Pose) -> Option<Reading> {
    // Sample every dot centre; the four corners inside means all are.
    let mut s = [[0f32; CARD_W]; CARD_H];
    for (u, v) in [
        (0.5, 0.5),
        (CARD_W as f32 - 0.5, 0.5),
        (0.5, CARD_H as f32 - 0.5),
        (CARD_W as f32 - 0.5, CARD_H as f32 - 0.5),
    ] {
        let (x, y) = p.map(u, v);
        if x < 0.0 || y < 0.0 || x >= g.w as f32 || y >= g.h as f32 {
            return None;
        }
    }
    let (o, ex, ey) = p.basis();
    for (v, row) in s.iter_mut().enumerate() {
        let (rx, ry) = (o.0 + ey.0 * (v as f32 + 0.5), o.1 + ey.1 * (v as f32 + 0.5));
        for (u, val) in row.iter_mut().enumerate() {
            let uu = u as f32 + 0.5;
            *val = g.sample(rx + ex.0 * uu, ry + ex.1 * uu);
        }
    }
    // Paper: median of the dots outside glyph cells (excluding the outer
    // ring, which may straddle the card edge).
    let mut paper_samples: Vec<f32> = Vec::with_capacity(CARD_W * CARD_H);
    let mut cell_samples: Vec<f32> = Vec::with_capacity(CARD_W * CARD_H);
    for (v, row) in s.iter().enumerate() {
        for (u, &val) in row.iter().enumerate() {
            if in_cell(u, v) {
                cell_samples.push(val);
            } else if u > 0 && v > 0 && u + 1 < CARD_W && v + 1 < CARD_H {
                paper_samples.push(val);
            }
        }
    }
    let mid = paper_samples.len() / 2;
    let paper = *paper_samples.select_nth_unstable_by(mid, f32::total_cmp).1;
    let low = cell_samples.len() / 50;
    let ink = *cell_samples.select_nth_unstable_by(low, f32::total_cmp).1;
    let contrast = paper - ink;
    let blank_card = contrast < 40.0;
    let mut stray = 0f32;
    if !blank_card {
        for (v, row) in s.iter().enumerate().take(CARD_H - 1).skip(1) {
            for (u, &val) in row.iter().enumerate().take(CARD_W - 1).skip(1) {
                if !in_cell(u, v) {
                    let d = ((paper - val) / contrast).clamp(0.0, 1.0);
                    stray += d * d;
                }
            }
        }
    }
    let tpl = templates();
    let mut lines: [String; 3] = Default::default();
    let mut cost = 0f32;
    let mut confidence = f32::INFINITY;
    for (l, line) in lines.iter_mut().enumerate() {
        let mut text = String::new();
        for i in 0..MAX_CHARS {
            let (u0, v0) = (MARGIN_X + i * CHAR_ADVANCE, MARGIN_Y + l * LINE_ADVANCE);
            let mut x = [0f32; GLYPH_W * GLYPH_H];
            for r in 0..GLYPH_H {
                for c in 0..GLYPH_W {
                    let val = s[v0 + r][u0 + c];
                    x[r * GLYPH_W + c] = if blank_card {
                        0.0
                    } else {
                        ((paper - val) / contrast).clamp(0.0, 1.0)
                    };
                }
            }
            let mut best = (f32::INFINITY, 11usize);
            let mut second = f32::INFINITY;
            for (k, t) in tpl.iter().enumerate() {
                let d: f32 = x.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum();
                if d < best.0 {
                    second = best.0;
                    best = (d, k);
                } else if d < second {
                    second = d;
                }
            }
            cost += best.0;
            if best.1 == 11 {
                text.push(' ');
            } else {
                confidence = confidence.min(second - best.0);
                text.push(if second - best.0 < 1.0 {
                    '?'
                } else {
                    FONT[best.1].0
                });
            }
        }
        *line = text.trim_end().to_string();
    }
    if !confidence.is_finite() {
        confidence = GLYPH_W as f32 * GLYPH_H as f32;
    }
    Some(Reading {
        cost,
        stray,
        lines,
        confidence,
        contrast,
    })
}

/// Local search over the pose minimising the matching cost.
fn refine(g: &Gray, start: Pose) -> Option<(Pose, Reading)> {
    let mut best = start;
    let mut best_r = read_at(g, &best)?;
    let mut steps = [
        0.5 * start.dot,
        0.5 * start.dot,
        0.8f32.to_radians(),
        0.02 * start.dot,
    ];
    for level in 0..4 {
        let mut improved = true;
        let mut rounds = 0;
        while improved && rounds < 6 {
            improved = false;
            rounds += 1;
            for k in 0..4 {
                for sign in [-1.0f32, 1.0] {
                    let mut p = best;
                    match k {
                        0 => p.cx += sign * steps[0],
                        1 => p.cy += sign * steps[1],
                        2 => p.angle += sign * steps[2],
                        _ => p.dot += sign * steps[3],
                    }
                    if let Some(r) = read_at(g, &p) {
                        if r.fit() < best_r.fit() {
                            best = p;
                            best_r = r;
                            improved = true;
                        }
                    }
                }
            }
        }
        steps.iter_mut().for_each(|s| *s *= 0.5);
        if level >= 1 && best_r.writing() && best_r.fit() < SETTLED_RESIDUAL * CELL_DOTS {
            // Placed to within a quarter of a dot and reading cleanly: finer steps would
            // move the corners a little, never the reading.
            break;
        }
    }
    Some((best, best_r))
}

/// Calls `each` with every new card-shaped bright region's first pose guess (at full
/// resolution), brightest threshold first, until it returns false. `long` is the long side
/// of the whole photo at `g`'s scale (`g` may be a crop of it).
fn candidates(g: &Gray, long: usize, mut each: impl FnMut(Pose) -> bool) {
    // Half resolution for the search.
    let (hw, hh) = (g.w / 2, g.h / 2);
    if hw < 16 || hh < 16 {
        return;
    }
    let mut half = vec![0u8; hw * hh];
    for y in 0..hh {
        for x in 0..hw {
            let a = g.px[(2 * y) * g.w + 2 * x]
                + g.px[(2 * y) * g.w + 2 * x + 1]
                + g.px[(2 * y + 1) * g.w + 2 * x]
                + g.px[(2 * y + 1) * g.w + 2 * x + 1];
            half[y * hw + x] = (a * 0.25) as u8;
        }
    }
    let mut out: Vec<Pose> = Vec::new();
    let mut outlines: Vec<Pose> = Vec::new();
    let sweep = Sweep {
        long: long / 2,
        slack: 1.0,
        step: 0.04,
        floor: 60.0,
    };
    card_shaped_regions(&half, hw, hh, sweep, |runs, p| {
        let full = p.at_full_size();
        // The same card comes back at the next thresholds, a little larger: its writing
        // (below) has been measured already.
        if outlines.iter().any(|q| same_outline(q, &full)) {
            return true;
        }
        outlines.push(full);
        // The writing gives a better pose than the outline, which
        // may have merged with something bright next to the card.
        let p = ink_pose(g, &pixels(runs), full).unwrap_or(full);
        let same = |q: &Pose| {
            (q.cx - p.cx).abs() < p.dot
                && (q.cy - p.cy).abs() < p.dot
                && (q.angle - p.angle).abs() < 0.02
                && (q.dot / p.dot - 1.0).abs() < 0.03
        };
        if out.iter().any(same) {
            return true;
        }
        out.push(p);
        each(p)
    });
}

/// Whether two outline poses are the same card found at neighbouring thresholds (it grows
/// a little as the threshold falls).
fn same_outline(q: &Pose, p: &Pose) -> bool {
    let turn = (q.angle - p.angle).rem_euclid(std::f32::consts::PI);
    (q.cx - p.cx).abs() < 1.5 * p.dot
        && (q.cy - p.cy).abs() < 1.5 * p.dot
        && turn.min(std::f32::consts::PI - turn) < 0.03
        && (q.dot / p.dot - 1.0).abs() < 0.05
}

pub use crate::decode::Region;

/// Threshold step of the gate's search, as a fraction of the image's bright level (the
/// reader's is 0.04).
const GATE_STEP: f32 = 0.04;

/// Lowest threshold of the gate's search: it passes no card whose paper is below 140, and
/// such paper stands out whole at thresholds above this (the reader goes down to 60).
const GATE_FLOOR: f32 = 110.0;

/// Most regions [`card_regions`] returns.
const MAX_REGIONS: usize = 4;

/// Whether `img` (about 400 px on its long side or more) may show a card; see
/// [`card_regions`].
pub fn may_show_card(img: &RgbImage) -> bool {
    let mut found = false;
    gate_probes(img, |_, pr| {
        found = pr.looks_like_card();
        !found
    });
    found
}

/// Where `img` (a decode of about 400 px on its long side or more) may show a card: the
/// gate in front of [`read_card_near`]. Bright card-shaped regions are found as in
/// [`read_card`] (at a quarter of the reader's resolution, with looser size limits), then
/// each is checked at dot positions for a card's look: paper much brighter than its
/// surroundings, and either dark writing confined to the three text lines with clean
/// margins and gaps between lines, or (a blank card) uniform paper. Each region holds the
/// whole card with a margin. It errs on the side of "yes": a photo it rejects is never read.
pub fn card_regions(img: &RgbImage) -> Vec<Region> {
    let (w, h) = (img.width as f32, img.height as f32);
    let mut out: Vec<Region> = Vec::new();
    gate_probes(img, |p, pr| {
        if !pr.looks_like_card() {
            return true;
        }
        // The card's corners plus a margin of a quarter of its height on every side.
        let pad = 0.25 * CARD_H as f32;
        let corners = [
            p.map(-pad, -pad),
            p.map(CARD_W as f32 + pad, -pad),
            p.map(CARD_W as f32 + pad, CARD_H as f32 + pad),
            p.map(-pad, CARD_H as f32 + pad),
        ];
        let r = Region {
            x0: (corners.iter().map(|c| c.0).fold(f32::MAX, f32::min) / w).max(0.0),
            y0: (corners.iter().map(|c| c.1).fold(f32::MAX, f32::min) / h).max(0.0),
            x1: (corners.iter().map(|c| c.0).fold(f32::MIN, f32::max) / w).min(1.0),
            y1: (corners.iter().map(|c| c.1).fold(f32::MIN, f32::max) / h).min(1.0),
        };
        if pr.shows_writing() {
            // The best hint: it goes first, in place of what it overlaps.
            out.retain(|o| !o.overlaps(&r));
            out.insert(0, r);
        } else if !out.iter().any(|o| o.overlaps(&r)) {
            // The same card is found again at other thresholds: keep the first region.
            out.push(r);
        }
        // Writing is what the reader is after: no need to look further. (A blank-looking
        // region may be a poster next to the card.)
        !pr.shows_writing() && out.len() < MAX_REGIONS
    });
    out
}

/// What the gate measures on a card-shaped candidate, sampled at dot centres of its
/// fitted pose on the gate's input image. Darkness is `(paper - luma) / paper`.
#[derive(Debug, Clone, Copy)]
struct Probe {
    /// Median luma of the deep margins (paper).
    pub paper: f32,
    /// Median luma of a ring just outside the card.
    pub surround: f32,
    /// Spread (90th - 10th percentile) of the deep margins, over paper.
    pub spread: f32,
    /// Largest mean darkness over the three text bands.
    pub text: f32,
    /// Mean darkness over the middle of the gaps between lines and the margins.
    pub gaps: f32,
    /// Dot size in pixels of the gate's input.
    pub dot: f32,
    /// Long side of the gate's input.
    pub long: f32,
}

impl Probe {
    /// The gate's decision. Thresholds were set on the generated collection (1,093 cards,
    /// 903 distractor scenes) with room to spare on the card side: there, cards with
    /// writing measure text >= 0.14, gaps <= 0.06, paper >= 170, paper - surround >= 37.
    fn looks_like_card(&self) -> bool {
        self.shows_writing() || self.looks_blank()
    }

    /// A card with writing: dark text bands, clean gaps and margins.
    fn shows_writing(&self) -> bool {
        self.text >= 0.08
            && self.gaps <= 0.09
            && self.text - self.gaps >= 0.06
            && self.paper >= 140.0
            && self.paper - self.surround >= 20.0
            && self.plausible_size()
    }

    /// A blank card: uniform paper.
    fn looks_blank(&self) -> bool {
        self.text < 0.06
            && self.gaps < 0.04
            && self.spread < 0.12
            && self.paper >= 170.0
            && self.paper - self.surround >= 40.0
            && self.plausible_size()
    }

    fn plausible_size(&self) -> bool {
        plausible_dot(self.dot, self.long)
    }
}

/// Whether a dot of `dot` pixels fits a card in a photo `long` pixels on its long side.
fn plausible_dot(dot: f32, long: f32) -> bool {
    (DOT_MIN * long..=DOT_MAX * long).contains(&dot)
}

/// Calls `each` with every card-shaped candidate of `img` of a plausible size and what the
/// gate measured on it, until it returns false.
fn gate_probes(img: &RgbImage, mut each: impl FnMut(Pose, Probe) -> bool) {
    // Half the size again: a card at the smallest plausible size still covers a few hundred
    // pixels there, and the search costs a quarter.
    let (w, h) = (img.width as usize / 2, img.height as usize / 2);
    if w < 32 || h < 32 {
        return;
    }
    let half = half_luma(img);
    let g = LumaOf(img);
    let mut outlines: Vec<Pose> = Vec::new();
    let sweep = Sweep {
        long: w.max(h),
        slack: 1.5,
        step: GATE_STEP,
        floor: GATE_FLOOR,
    };
    card_shaped_regions(&half, w, h, sweep, |_, p| {
        let full = p.at_full_size();
        // Measured already at the previous threshold.
        if outlines.iter().any(|q| same_outline(q, &full)) {
            return true;
        }
        outlines.push(full);
        // The gate takes no card of another size: measuring it would be wasted.
        if !plausible_dot(full.dot, img.width.max(img.height) as f32) {
            return true;
        }
        match probe(&g, &full) {
            Some(pr) => each(full, pr),
            None => true,
        }
    });
}

/// The mean of each 2 x 2 block of `img`'s luma (each pixel's luma rounded first, as
/// [`RgbImage::luma_u8`] does), in one pass over the pixels.
fn half_luma(img: &RgbImage) -> Vec<u8> {
    let iw = img.width as usize;
    let (w, h) = (iw / 2, img.height as usize / 2);
    let mut half = vec![0u8; w * h];
    if w == 0 {
        return half;
    }
    // Luma in u16 arithmetic (77 r + 150 g + 29 b + 128 < 2^16): about half the
    // instructions of u32 (the compiler vectorises neither).
    let luma16 = |p: &[u8]| {
        77u16
            .wrapping_mul(p[0] as u16)
            .wrapping_add(150u16.wrapping_mul(p[1] as u16))
            .wrapping_add(29u16.wrapping_mul(p[2] as u16))
            .wrapping_add(128)
            >> 8
    };
    for (y, out) in half.chunks_exact_mut(w).enumerate() {
        let top = &img.pixels[2 * y * iw * 3..][..w * 6];
        let bot = &img.pixels[(2 * y + 1) * iw * 3..][..w * 6];
        for ((o, a), b) in out
            .iter_mut()
            .zip(top.chunks_exact(6))
            .zip(bot.chunks_exact(6))
        {
            let sum = luma16(&a[..3]) + luma16(&a[3..]) + luma16(&b[..3]) + luma16(&b[3..]);
            *o = (sum >> 2) as u8;
        }
    }
    half
}

/// Measure a candidate pose (see [`Probe`]); `None` when it reaches outside the image.
fn probe(g: &impl Plane, p: &Pose) -> Option<Probe> {
    let (gw, gh) = g.size();
    const RING: isize = 2;
    let (cw, ch) = (CARD_W as isize, CARD_H as isize);
    let mut s = [[0f32; CARD_W]; CARD_H];
    for (v, row) in s.iter_mut().enumerate() {
        for (u, val) in row.iter_mut().enumerate() {
            let (x, y) = p.map(u as f32 + 0.5, v as f32 + 0.5);
            if x < 0.0 || y < 0.0 || x >= gw as f32 || y >= gh as f32 {
                return None;
            }
            *val = g.sample(x, y);
        }
    }
    let mut ring = Vec::new();
    for v in -RING - 1..ch + RING + 1 {
        for u in -RING - 1..cw + RING + 1 {
            let outside = u < -RING || v < -RING || u >= cw + RING || v >= ch + RING;
            let near = u < 0 || v < 0 || u >= cw || v >= ch;
            if outside || !near || (u >= -1 && v >= -1 && u <= cw && v <= ch) {
                continue;
            }
            let (x, y) = p.map(u as f32 + 0.5, v as f32 + 0.5);
            if x >= 0.0 && y >= 0.0 && x < gw as f32 && y < gh as f32 {
                ring.push(g.sample(x, y));
            }
        }
    }
    if ring.is_empty() {
        return None;
    }
    let mut deep = Vec::with_capacity(2 * (CARD_W + CARD_H) * 2);
    for (v, row) in s.iter().enumerate() {
        for (u, &val) in row.iter().enumerate() {
            let inner_u = (1..CARD_W - 1).contains(&u);
            let inner_v = (1..CARD_H - 1).contains(&v);
            let edge_u = !(MARGIN_X - 1..=CARD_W - MARGIN_X).contains(&u);
            let edge_v = !(MARGIN_Y - 1..=CARD_H - MARGIN_Y).contains(&v);
            if inner_u && inner_v && (edge_u || edge_v) {
                deep.push(val);
            }
        }
    }
    deep.sort_by(f32::total_cmp);
    let paper = deep[deep.len() / 2];
    let spread = (deep[deep.len() * 9 / 10] - deep[deep.len() / 10]) / paper.max(1.0);
    ring.sort_by(f32::total_cmp);
    let surround = ring[ring.len() / 2];
    let dark = |v: usize| -> f32 {
        let row = &s[v][MARGIN_X..CARD_W - MARGIN_X];
        row.iter()
            .map(|&x| ((paper - x) / paper.max(1.0)).max(0.0))
            .sum::<f32>()
            / row.len() as f32
    };
    let mut bands = [0f32; 3];
    for (l, b) in bands.iter_mut().enumerate() {
        let v0 = MARGIN_Y + l * LINE_ADVANCE;
        *b = (v0..v0 + GLYPH_H).map(dark).sum::<f32>() / GLYPH_H as f32;
    }
    let gap_rows = [
        1,
        2,
        MARGIN_Y + GLYPH_H + 1,
        MARGIN_Y + GLYPH_H + 2,
        MARGIN_Y + LINE_ADVANCE + GLYPH_H + 1,
        MARGIN_Y + LINE_ADVANCE + GLYPH_H + 2,
        CARD_H - 3,
        CARD_H - 2,
    ];
    let gaps = gap_rows.iter().map(|&v| dark(v)).sum::<f32>() / gap_rows.len() as f32;
    Some(Probe {
        paper,
        surround,
        spread,
        text: bands.iter().cloned().fold(0.0, f32::max),
        gaps,
        dot: p.dot,
        long: gw.max(gh) as f32,
    })
}

/// How [`card_shaped_regions`] searches.
#[derive(Debug, Clone, Copy)]
struct Sweep {
    /// Long side of the whole photo at the scale searched.
    long: usize,
    /// Widens the plausible size range (1.0 = as the reader needs).
    slack: f32,
    /// Thresholds go down by this fraction of the bright level ...
    step: f32,
    /// ... and not below this.
    floor: f32,
}

/// A run of bright pixels in one row: `x0..=x1` of row `y`.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
}

/// Calls `each` with the runs and fitted pose of every bright, card-shaped connected region
/// (4-connected) of the grey image `half`, over a range of thresholds (lighting varies),
/// until it returns false; see [`Sweep`]. At each threshold, regions come in the raster
/// order of their first pixels, and a region's runs in raster order.
///
/// Each threshold's bright set is cut into runs along the rows, and runs that touch runs
/// of the row above are joined (union-find, the earliest run as the root): the work goes
/// with the number of runs, not of pixels, and only regions of a card's size are fitted.
fn card_shaped_regions(
    half: &[u8],
    hw: usize,
    hh: usize,
    sweep: Sweep,
    mut each: impl FnMut(&[Run], Pose) -> bool,
) {
    let mut hist = [0usize; 256];
    for &v in half {
        hist[v as usize] += 1;
    }
    // Robust maximum: the 99.8th percentile.
    let mut acc = 0;
    let mut top = 255usize;
    for v in (0..256).rev() {
        acc += hist[v];
        if acc * 500 >= half.len() {
            top = v;
            break;
        }
    }
    let Sweep {
        long,
        slack,
        step,
        floor,
    } = sweep;
    let long = long as f32;
    let (dmin, dmax) = (DOT_MIN * long, DOT_MAX * long);
    let area_min = (CARD_W * CARD_H) as f32 * dmin * dmin * 0.55 / slack;
    let area_max = (CARD_W * CARD_H) as f32 * dmax * dmax * slack;
    let mut thresholds = Vec::new();
    let mut t = top as f32 * 0.97;
    while t > top as f32 * 0.45 && t > floor {
        thresholds.push(t as u8);
        t -= top as f32 * step;
    }
    if thresholds.is_empty() {
        // Too dark for any card.
        return;
    }
    let all_runs = runs_at(half, hw, hh, &thresholds);
    let mut parent: Vec<u32> = Vec::new();
    let mut size: Vec<u32> = Vec::new();
    let mut last: Vec<u32> = Vec::new();
    let mut region: Vec<Run> = Vec::new();
    for (&thr, Runs { runs, row_start }) in thresholds.iter().zip(&all_runs) {
        // Fewer bright pixels than the smallest card: no region can be one.
        if (hist[thr as usize..].iter().sum::<usize>() as f32) < area_min {
            continue;
        }
        label_regions(runs, row_start, &mut parent);
        size.clear();
        size.resize(runs.len(), 0);
        last.clear();
        last.resize(runs.len(), 0);
        for (r, run) in runs.iter().enumerate() {
            let root = parent[r] as usize;
            size[root] += run.x1 - run.x0 + 1;
            last[root] = r as u32;
        }
        for root in 0..runs.len() {
            let n = size[root] as f32;
            if parent[root] as usize != root || n < area_min || n > area_max {
                continue;
            }
            region.clear();
            region.extend(
                (root..=last[root] as usize)
                    .filter(|&r| parent[r] as usize == root)
                    .map(|r| runs[r]),
            );
            if let Some(p) = fit_card(&region) {
                if !each(&region, p) {
                    return;
                }
            }
        }
    }
}

/// The bright runs of an image at one threshold, in raster order.
struct Runs {
    runs: Vec<Run>,
    /// Index in `runs` of each row's first run, and the number of runs at the end.
    row_start: Vec<usize>,
}

/// The runs of pixels of the `w` x `h` grey image `img` at or above each of `thresholds`
/// (decreasing), in one pass over the pixels: a pixel's level is the number of
/// thresholds it reaches, and a run at threshold `i` is a stretch of a row whose levels
/// are all at least `thresholds.len() - i`.
fn runs_at(img: &[u8], w: usize, h: usize, thresholds: &[u8]) -> Vec<Runs> {
    let k = thresholds.len();
    let mut level = [0u8; 256];
    for (v, l) in level.iter_mut().enumerate() {
        *l = thresholds.iter().filter(|&&t| v >= t as usize).count() as u8;
    }
    // The values at each level: `base..base + span`.
    let band: Vec<(u8, u8)> = (0..=k)
        .map(|l| {
            let base = level.iter().position(|&x| x as usize == l).unwrap_or(0);
            let span = level.iter().filter(|&&x| x as usize == l).count();
            // (All 256 values at one level only when there are no thresholds.)
            (base as u8, span.min(255) as u8)
        })
        .collect();
    let mut out: Vec<Runs> = (0..k)
        .map(|_| Runs {
            runs: Vec::new(),
            row_start: vec![0; h + 1],
        })
        .collect();
    // Where the open run at each level began.
    let mut open = vec![0u32; k + 1];
    for (y, row) in img.chunks_exact(w).take(h).enumerate() {
        for r in out.iter_mut() {
            r.row_start[y] = r.runs.len();
        }
        // Ends the runs open at levels `from + 1..=to` at `x1`.
        let close = |out: &mut [Runs], open: &[u32], from: usize, to: usize, x1: u32| {
            for m in from + 1..=to {
                out[k - m].runs.push(Run {
                    y: y as u32,
                    x0: open[m],
                    x1,
                });
            }
        };
        // Pixel `v` at `x`: runs open at the levels it rises through, end at those it falls
        // below.
        let step = |out: &mut [Runs], open: &mut [u32], prev: &mut usize, x: usize, v: u8| {
            let cur = level[v as usize] as usize;
            if cur > *prev {
                open[*prev + 1..=cur].fill(x as u32);
            } else if cur < *prev {
                close(out, open, cur, *prev, x as u32 - 1);
            }
            *prev = cur;
        };
        let mut prev = 0usize;
        let mut chunks = row.chunks_exact(16);
        for (c, chunk) in (&mut chunks).enumerate() {
            // Most stretches of sixteen stay at one level, where nothing opens or ends (a
            // test the compiler vectorises).
            let chunk: &[u8; 16] = chunk.try_into().expect("16 pixels");
            let (base, span) = band[prev];
            let leaves = chunk
                .iter()
                .fold(0u8, |any, &v| any | (v.wrapping_sub(base) >= span) as u8);
            if leaves == 0 {
                continue;
            }
            for (i, &v) in chunk.iter().enumerate() {
                step(&mut out, &mut open, &mut prev, 16 * c + i, v);
            }
        }
        let rest = w - chunks.remainder().len();
        for (x, &v) in row.iter().enumerate().skip(rest) {
            step(&mut out, &mut open, &mut prev, x, v);
        }
        close(&mut out, &open, 0, prev, w as u32 - 1);
    }
    for r in out.iter_mut() {
        r.row_start[h] = r.runs.len();
    }
    out
}

/// Sets `parent[r]` to the first run (in raster order) of the 4-connected region of each
/// run `r` of `runs` (`row_start` as in [`Runs`]).
fn label_regions(runs: &[Run], row_start: &[usize], parent: &mut Vec<u32>) {
    parent.clear();
    parent.extend(0..runs.len() as u32);
    for y in 1..row_start.len() - 1 {
        let (mut i, mut j) = (row_start[y - 1], row_start[y]);
        while i < row_start[y] && j < row_start[y + 1] {
            let (a, b) = (runs[i], runs[j]);
            if a.x0 <= b.x1 && b.x0 <= a.x1 {
                join(parent, i, j);
            }
            // Move on from the run that ends first.
            if a.x1 < b.x1 {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    // Parents come before their children, so one pass in order points every run at its
    // root.
    for r in 0..runs.len() {
        parent[r] = parent[parent[r] as usize];
    }
}

/// Joins the regions of runs `a` and `b`: the root with the smaller index becomes the
/// root of both (so a region's root is its first run in raster order).
fn join(parent: &mut [u32], a: usize, b: usize) {
    let (ra, rb) = (root_of(parent, a), root_of(parent, b));
    if ra < rb {
        parent[rb] = ra as u32;
    } else if rb < ra {
        parent[ra] = rb as u32;
    }
}

/// The root of run `r`, halving the path on the way.
fn root_of(parent: &mut [u32], mut r: usize) -> usize {
    while parent[r] as usize != r {
        let up = parent[parent[r] as usize];
        parent[r] = up;
        r = up as usize;
    }
    r
}

/// The pixels of `runs`, in order.
fn pixels(runs: &[Run]) -> Vec<(u32, u32)> {
    runs.iter()
        .flat_map(|r| (r.x0..=r.x1).map(move |x| (x, r.y)))
        .collect()
}

/// Pose from the writing on a card: the dark pixels enclosed by the bright
/// region `pts` (half-resolution coordinates). The text lines give the
/// angle (sharpest projection profile), the first line's top and the last
/// line's bottom give the dot size (29 dots apart when the report line is
/// present) and, with the left edge of the text, the card's position.
fn ink_pose(g: &Gray, pts: &[(u32, u32)], guess: Pose) -> Option<Pose> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for &(x, y) in pts {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let (bw, bh) = ((x1 - x0 + 3) as usize, (y1 - y0 + 3) as usize);
    // Local mask with a one-pixel frame: 1 = region, 2 = outside reached.
    let mut m = vec![0u8; bw * bh];
    for &(x, y) in pts {
        m[(y - y0 + 1) as usize * bw + (x - x0 + 1) as usize] = 1;
    }
    let mut stack = vec![0usize];
    m[0] = 2;
    while let Some(i) = stack.pop() {
        let (x, y) = (i % bw, i / bw);
        let mut go = |j: usize| {
            if m[j] == 0 {
                m[j] = 2;
                stack.push(j);
            }
        };
        if x > 0 {
            go(i - 1);
        }
        if x + 1 < bw {
            go(i + 1);
        }
        if y > 0 {
            go(i - bw);
        }
        if y + 1 < bh {
            go(i + bw);
        }
    }
    // Paper level: median of the region at full resolution.
    let mut paper: Vec<f32> = pts
        .iter()
        .step_by(7)
        .map(|&(x, y)| g.px[(2 * y as usize) * g.w + 2 * x as usize])
        .collect();
    if paper.is_empty() {
        return None;
    }
    paper.sort_by(f32::total_cmp);
    let paper = paper[paper.len() / 2];
    // Ink: dark full-resolution pixels in the holes.
    let mut ink: Vec<(f32, f32)> = Vec::new();
    for ly in 1..bh - 1 {
        for lx in 1..bw - 1 {
            if m[ly * bw + lx] != 0 {
                continue;
            }
            let (hx, hy) = (lx + x0 as usize - 1, ly + y0 as usize - 1);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (fx, fy) = (2 * hx + dx, 2 * hy + dy);
                if fx < g.w && fy < g.h && g.px[fy * g.w + fx] < paper * 0.55 {
                    ink.push((fx as f32 + 0.5, fy as f32 + 0.5));
                }
            }
        }
    }
    if ink.len() < 40 {
        return None;
    }
    // Angle: sharpest histogram of the coordinate across the lines.
    let bin = (guess.dot * 0.5).max(0.5);
    let (mx, my) = (
        ink.iter().map(|p| p.0).sum::<f32>() / ink.len() as f32,
        ink.iter().map(|p| p.1).sum::<f32>() / ink.len() as f32,
    );
    let mut best = (f32::MIN, guess.angle);
    let reach = ink
        .iter()
        .map(|&(x, y)| (x - mx).abs() + (y - my).abs())
        .fold(0.0, f32::max);
    let half_bins = (reach / bin) as usize + 2;
    let mut hist = vec![0u32; 2 * half_bins];
    let mut sharpness = |a: f32| {
        let (s, c) = a.sin_cos();
        hist.iter_mut().for_each(|h| *h = 0);
        let inv = 1.0 / bin;
        for &(x, y) in &ink {
            let v = -(x - mx) * s + (y - my) * c;
            let b = (v * inv + half_bins as f32) as usize;
            if b < hist.len() {
                hist[b] += 1;
            }
        }
        hist.iter().map(|&h| (h as f32) * (h as f32)).sum::<f32>()
    };
    // Coarse to fine: 1.5 degree steps over +-15 degrees, then 0.5 degree steps around
    // the best.
    for step in -10..=10 {
        let a = guess.angle + (step as f32 * 1.5).to_radians();
        let score = sharpness(a);
        if score > best.0 {
            best = (score, a);
        }
    }
    let coarse = best.1;
    for step in [-2.0f32, -1.0, 1.0, 2.0] {
        let a = coarse + (step * 0.5).to_radians();
        let score = sharpness(a);
        if score > best.0 {
            best = (score, a);
        }
    }
    let angle = best.1;
    let (s, c) = angle.sin_cos();
    // Extents in card axes (robust: 0.3% trimmed).
    let mut us: Vec<f32> = ink
        .iter()
        .map(|&(x, y)| (x - mx) * c + (y - my) * s)
        .collect();
    let mut vs: Vec<f32> = ink
        .iter()
        .map(|&(x, y)| -(x - mx) * s + (y - my) * c)
        .collect();
    us.sort_by(f32::total_cmp);
    vs.sort_by(f32::total_cmp);
    let k = ink.len() / 300;
    let (umin, vmin, vmax) = (us[k], vs[k], vs[vs.len() - 1 - k]);
    let span_lines = ((LINES - 1) * LINE_ADVANCE + GLYPH_H) as f32;
    let dot = (vmax - vmin) / span_lines;
    if !(0.75..=1.33).contains(&(dot / guess.dot)) {
        // Not three lines of writing (e.g. no report line): keep the
        // outline's size, take only the angle.
        return Some(Pose { angle, ..guess });
    }
    // Card centre in card axes relative to (mx, my).
    let cu = umin - MARGIN_X as f32 * dot + CARD_W as f32 * 0.5 * dot;
    let cv = vmin - MARGIN_Y as f32 * dot + CARD_H as f32 * 0.5 * dot;
    Some(Pose {
        cx: mx + cu * c - cv * s,
        cy: my + cu * s + cv * c,
        angle,
        dot,
    })
}

/// Pose of a rectangle of aspect CARD_W:CARD_H fitted to the pixels of `runs`, or `None`
/// when they are not card-shaped.
fn fit_card(runs: &[Run]) -> Option<Pose> {
    // Moments from each run's sums in closed form (exact in integers).
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    // Sum of k^2 for k in 0..=m.
    let squares = |m: u64| m * (m + 1) * (2 * m + 1) / 6;
    for r in runs {
        let (x0, x1, y) = (r.x0 as u64, r.x1 as u64, r.y as u64);
        let len = x1 - x0 + 1;
        let rx = (x0 + x1) * len / 2;
        n += len;
        sx += rx;
        sy += y * len;
        sxx += squares(x1) - if x0 > 0 { squares(x0 - 1) } else { 0 };
        syy += y * y * len;
        sxy += y * rx;
    }
    let nf = n as f64;
    let (mx, my) = (sx as f64 / nf, sy as f64 / nf);
    let cxx = sxx as f64 - sx as f64 * mx;
    let cyy = syy as f64 - sy as f64 * my;
    let cxy = sxy as f64 - sx as f64 * my;
    let angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    let (s, c) = angle.sin_cos();
    // Extents along the axes: a linear function is extreme at the ends of a run.
    let (mut umin, mut umax, mut vmin, mut vmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for r in runs {
        let dy = r.y as f64 - my;
        for x in [r.x0, r.x1] {
            let dx = x as f64 - mx;
            let u = dx * c + dy * s;
            let v = -dx * s + dy * c;
            umin = umin.min(u);
            umax = umax.max(u);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
    }
    let (lu, lv) = (umax - umin + 1.0, vmax - vmin + 1.0);
    let aspect = lu / lv;
    let want = CARD_W as f64 / CARD_H as f64;
    if (aspect / want - 1.0).abs() > 0.2 {
        return None;
    }
    let fill = nf / (lu * lv);
    if !(0.55..=1.05).contains(&fill) {
        return None;
    }
    let (cu, cv) = ((umax + umin) * 0.5, (vmax + vmin) * 0.5);
    Some(Pose {
        cx: (mx + cu * c - cv * s) as f32,
        cy: (my + cu * s + cv * c) as f32,
        angle: angle as f32,
        dot: ((lu / CARD_W as f64 + lv / CARD_H as f64) * 0.5) as f32,
    })
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Find and read the numbered card in `img`. `None` when no card is found.
/// A blank card gives `Some` with empty lines and no numbers.
pub fn read_card(img: &RgbImage) -> Option<CardNumbers> {
    read_card_in(img, Region::WHOLE)
}

/// [`read_card`] on an image that shows only the part `covers` of a photo (a crop, such
/// as a region decode). Card sizes are judged against the whole photo, and the corners
/// are given in pixels of the whole photo at `img`'s scale.
pub fn read_card_in(img: &RgbImage, covers: Region) -> Option<CardNumbers> {
    let (fw, fh) = covers.full_size(img.width, img.height)?;
    if fw < 64.0 || fh < 64.0 {
        return None;
    }
    let g = Gray::of(img, 0, 0, img.width as usize, img.height as usize);
    let (pose, r) = search(&g, fw.max(fh) as usize)?;
    Some(numbers(pose, &r, (covers.x0 * fw, covers.y0 * fh)))
}

/// [`read_card`] looking only around `hints` (from [`card_regions`] on a smaller decode
/// of the same photo), which is several times faster. When no hint holds a card, the
/// whole image is searched, so a poor hint costs time, never a card.
pub fn read_card_near(img: &RgbImage, hints: &[Region]) -> Option<CardNumbers> {
    read_card_at(img, hints).or_else(|| read_card(img))
}

/// [`read_card_near`] without its fallback: only the `hints` regions of `img` are looked
/// at (the rest may be missing, as in [`crate::decode::decode_reduced_grey_in`]).
pub fn read_card_at(img: &RgbImage, hints: &[Region]) -> Option<CardNumbers> {
    let (w, h) = (img.width as usize, img.height as usize);
    if w < 64 || h < 64 {
        return None;
    }
    let long = w.max(h);
    let mut best: Option<(Pose, Reading)> = None;
    for hint in hints {
        let x0 = ((hint.x0.clamp(0.0, 1.0) * w as f32) as usize).min(w);
        let y0 = ((hint.y0.clamp(0.0, 1.0) * h as f32) as usize).min(h);
        let x1 = ((hint.x1.clamp(0.0, 1.0) * w as f32).ceil() as usize).min(w);
        let y1 = ((hint.y1.clamp(0.0, 1.0) * h as f32).ceil() as usize).min(h);
        if x1 < x0 + 32 || y1 < y0 + 32 {
            continue;
        }
        let g = Gray::of(img, x0, y0, x1, y1);
        let Some((mut pose, r)) = search(&g, long) else {
            continue;
        };
        pose.cx += x0 as f32;
        pose.cy += y0 as f32;
        let clean = r.writing() && r.cost < GOOD_RESIDUAL * CELL_DOTS;
        if best.as_ref().is_none_or(|(_, b)| r.rank() > b.rank()) {
            best = Some((pose, r));
        }
        if clean {
            break;
        }
    }
    best.map(|(pose, r)| numbers(pose, &r, (0.0, 0.0)))
}

/// The best reading over the card-shaped candidates of `g` (see [`candidates`]).
fn search(g: &Gray, long: usize) -> Option<(Pose, Reading)> {
    // Readings with ink that the templates explain well beat blank ones
    // (a blank reading costs nothing and would win every comparison).
    let max_cost = MAX_RESIDUAL * CELL_DOTS;
    let mut best: Option<(Pose, Reading)> = None;
    // Candidates are read as they are found: a clean reading ends the search before the
    // lower thresholds are labelled.
    candidates(g, long, |cand| {
        // The major axis gives the angle up to a half turn: try both, the one that reads
        // better as it stands first (it is usually right, and a clean reading ends the search).
        let mut starts = [0.0, std::f32::consts::PI].map(|flip| {
            let p = Pose {
                angle: cand.angle + flip,
                ..cand
            };
            (p, read_at(g, &p).map_or(f32::INFINITY, |r| r.fit()))
        });
        if starts[1].1 < starts[0].1 {
            starts.swap(0, 1);
        }
        for (start, _) in starts {
            let Some((p, r)) = refine(g, start) else {
                continue;
            };
            if r.writing() && r.cost > max_cost {
                continue;
            }
            if best.as_ref().is_none_or(|(_, b)| r.rank() > b.rank()) {
                let clean = r.writing() && r.cost < GOOD_RESIDUAL * CELL_DOTS;
                best = Some((p, r));
                if clean {
                    // A crisp reading of real writing: no need to look further.
                    return false;
                }
            }
        }
        true
    });
    best
}

/// The numbers of a reading at `pose`; corners shifted by `offset` pixels.
fn numbers(pose: Pose, r: &Reading, offset: (f32, f32)) -> CardNumbers {
    let [l0, l1, l2] = &r.lines;
    let report = l2
        .split_once('/')
        .filter(|(n, y)| digits(n) && y.len() == 2 && digits(y))
        .map(|_| l2.clone());
    let corner = |u: f32, v: f32| {
        let (x, y) = pose.map(u, v);
        (x + offset.0, y + offset.1)
    };
    CardNumbers {
        detainee: digits(l0).then(|| l0.clone()),
        branch: digits(l1).then(|| l1.clone()),
        report,
        lines: r.lines.clone(),
        confidence: r.confidence,
        residual: r.cost / CELL_DOTS,
        corners: [
            corner(0.0, 0.0),
            corner(CARD_W as f32, 0.0),
            corner(CARD_W as f32, CARD_H as f32),
            corner(0.0, CARD_H as f32),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draw a card into a grey image at a pose, as a camera would see it.
    fn draw(lines: [&str; 3], w: u32, h: u32, pose: Pose) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        let tpl = templates();
        let glyph_of = |c: char| FONT.iter().position(|(k, _)| *k == c);
        let (s, co) = pose.angle.sin_cos();
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 + 0.5 - pose.cx, y as f32 + 0.5 - pose.cy);
                let u = (dx * co + dy * s) / pose.dot + CARD_W as f32 * 0.5;
                let v = (-dx * s + dy * co) / pose.dot + CARD_H as f32 * 0.5;
                let mut val = 90u8;
                if u >= 0.0 && v >= 0.0 && u < CARD_W as f32 && v < CARD_H as f32 {
                    val = 240;
                    let (u, v) = (u as usize, v as usize);
                    if in_cell(u, v) {
                        let (cu, cv) = (u - MARGIN_X, v - MARGIN_Y);
                        let (i, l) = (cu / CHAR_ADVANCE, cv / LINE_ADVANCE);
                        if let Some(c) = lines[l].chars().nth(i) {
                            if let Some(gi) = glyph_of(c) {
                                let (r, col) = (cv % LINE_ADVANCE, cu % CHAR_ADVANCE);
                                if tpl[gi][r * GLYPH_W + col] > 0.5 {
                                    val = 20;
                                }
                            }
                        }
                    }
                }
                img.put(x, y, [val, val, val]);
            }
        }
        img
    }

    /// A grey image of random blobs (regions of many shapes and sizes at any threshold).
    fn blobs(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let centres: Vec<(f32, f32, f32, u8)> = (0..12)
            .map(|_| {
                let r = rand();
                (
                    (r % w as u64) as f32,
                    ((r >> 16) % h as u64) as f32,
                    2.0 + ((r >> 32) % 9) as f32,
                    (r >> 48) as u8,
                )
            })
            .collect();
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let noise = (rand() % 40) as u8;
                centres
                    .iter()
                    .filter(|c| (x - c.0).hypot(y - c.1) < c.2)
                    .map(|c| c.3)
                    .max()
                    .unwrap_or(30)
                    .saturating_add(noise)
            })
            .collect()
    }

    /// 4-connected components of `mask` by flood fill: each pixel's label is its region's
    /// first pixel in raster order.
    fn flood_labels(mask: &[bool], w: usize) -> Vec<usize> {
        let mut label = vec![usize::MAX; mask.len()];
        for start in 0..mask.len() {
            if !mask[start] || label[start] != usize::MAX {
                continue;
            }
            let mut stack = vec![start];
            label[start] = start;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                let mut near = vec![];
                if x > 0 {
                    near.push(i - 1);
                }
                if x + 1 < w {
                    near.push(i + 1);
                }
                if y > 0 {
                    near.push(i - w);
                }
                if i + w < mask.len() {
                    near.push(i + w);
                }
                for j in near {
                    if mask[j] && label[j] == usize::MAX {
                        label[j] = start;
                        stack.push(j);
                    }
                }
            }
        }
        label
    }

    #[test]
    fn runs_and_regions_agree_with_a_flood_fill() {
        let thresholds = [230, 200, 160, 120, 80, 50];
        for seed in 0..24u64 {
            let (w, h) = (31 + seed as usize % 7, 19 + seed as usize % 5);
            let img = blobs(w, h, seed);
            let all = runs_at(&img, w, h, &thresholds);
            for (&t, Runs { runs, row_start }) in thresholds.iter().zip(&all) {
                let mask: Vec<bool> = img.iter().map(|&v| v >= t).collect();
                // The runs cover exactly the bright pixels, each run whole, row by row.
                let mut covered = vec![false; w * h];
                for (y, rows) in row_start.windows(2).enumerate() {
                    for r in &runs[rows[0]..rows[1]] {
                        assert_eq!(r.y as usize, y);
                        let (x0, x1) = (r.x0 as usize, r.x1 as usize);
                        assert!(x0 == 0 || !mask[y * w + x0 - 1], "run starts late");
                        assert!(x1 + 1 == w || !mask[y * w + x1 + 1], "run ends early");
                        for x in x0..=x1 {
                            assert!(!covered[y * w + x], "pixel in two runs");
                            covered[y * w + x] = true;
                        }
                    }
                }
                assert_eq!(covered, mask, "seed {seed} threshold {t}");
                assert_eq!(row_start[h], runs.len());
                // Every run is labelled with its region's first run.
                let mut parent = Vec::new();
                label_regions(runs, row_start, &mut parent);
                let flood = flood_labels(&mask, w);
                for (r, run) in runs.iter().enumerate() {
                    let root = runs[parent[r] as usize];
                    let first = root.y as usize * w + root.x0 as usize;
                    for x in run.x0..=run.x1 {
                        assert_eq!(flood[run.y as usize * w + x as usize], first, "seed {seed}");
                    }
                }
            }
        }
    }

    #[test]
    fn half_luma_is_the_mean_of_rounded_luma() {
        for (w, h) in [(7u32, 5u32), (64, 48), (33, 2)] {
            let mut img = RgbImage::new(w, h);
            let mut seed = 0x2545_f491_4f6c_dd1du64 ^ (w as u64);
            for p in img.pixels.iter_mut() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *p = (seed >> 56) as u8;
            }
            let luma = img.luma_u8();
            let (hw, iw) = (w as usize / 2, w as usize);
            let half = half_luma(&img);
            assert_eq!(half.len(), hw * (h as usize / 2));
            for (i, &v) in half.iter().enumerate() {
                let (x, y) = (2 * (i % hw), 2 * (i / hw));
                let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .iter()
                    .map(|(dx, dy)| luma[(y + dy) * iw + x + dx] as u32)
                    .sum();
                assert_eq!(v as u32, sum / 4, "{w}x{h} at {i}");
            }
            // The gate samples luma from the pixels as the reader's plane holds it.
            let gray = Gray::of(&img, 0, 0, iw, h as usize);
            let view = LumaOf(&img);
            for (x, y) in [
                (0.5f32, 0.5f32),
                (3.2, 1.7),
                (w as f32 - 0.5, h as f32 - 0.5),
            ] {
                assert_eq!(view.sample(x, y), gray.sample(x, y));
            }
        }
    }

    #[test]
    fn fits_a_tilted_card_shaped_rectangle() {
        // A filled rectangle of the card's proportions, 20 degrees from the x axis.
        let (angle, dot, cx, cy) = (20f32.to_radians(), 1.5f32, 60.0f32, 45.0f32);
        let (s, c) = angle.sin_cos();
        let (w, h) = (120usize, 90usize);
        let img: Vec<u8> = (0..w * h)
            .map(|i| {
                let (dx, dy) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
                let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
                let inside =
                    u.abs() < CARD_W as f32 * dot * 0.5 && v.abs() < CARD_H as f32 * dot * 0.5;
                if inside {
                    250
                } else {
                    20
                }
            })
            .collect();
        let Runs { runs, .. } = runs_at(&img, w, h, &[128]).remove(0);
        let p = fit_card(&runs).expect("card-shaped");
        assert!((p.angle - angle).abs() < 0.02, "angle {}", p.angle);
        assert!((p.dot / dot - 1.0).abs() < 0.05, "dot {}", p.dot);
        assert!((p.cx - cx).abs() < 1.0 && (p.cy - cy).abs() < 1.0, "{p:?}");
        // A square of the same area is not a card.
        let side = ((CARD_W * CARD_H) as f32).sqrt() * dot;
        let square: Vec<u8> = (0..w * h)
            .map(|i| {
                let (dx, dy) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
                if dx.abs() < side * 0.5 && dy.abs() < side * 0.5 {
                    250
                } else {
                    20
                }
            })
            .collect();
        let Runs { runs, .. } = runs_at(&square, w, h, &[128]).remove(0);
        assert!(fit_card(&runs).is_none());
    }

    #[test]
    fn reads_a_clean_tilted_card() {
        let pose = Pose {
            cx: 430.0,
            cy: 260.0,
            angle: 7f32.to_radians(),
            dot: 3.4,
        };
        let img = draw(["4512", "215", "1873/12"], 800, 600, pose);
        let c = read_card(&img).expect("card found");
        assert_eq!(c.detainee.as_deref(), Some("4512"));
        assert_eq!(c.branch.as_deref(), Some("215"));
        assert_eq!(c.report.as_deref(), Some("1873/12"));
    }

    #[test]
    fn blank_card_and_no_card() {
        let pose = Pose {
            cx: 300.0,
            cy: 300.0,
            angle: -5f32.to_radians(),
            dot: 3.5,
        };
        let img = draw(["", "", ""], 800, 600, pose);
        let c = read_card(&img).expect("card found");
        assert!(c.is_blank() && c.detainee.is_none());
        let mut grey = RgbImage::new(800, 600);
        grey.pixels.iter_mut().for_each(|p| *p = 100);
        assert!(read_card(&grey).is_none());
    }

    #[test]
    fn the_gate_passes_small_cards_and_stops_plain_scenes() {
        // The gate sees the quarter-scale decode (half of the reader's input); cards at the
        // smallest and largest plausible dot sizes must pass it.
        for dot in [3.0, 4.6] {
            let pose = Pose {
                cx: 380.0,
                cy: 300.0,
                angle: 12f32.to_radians(),
                dot,
            };
            let img = draw(["907", "227", "55/13"], 800, 600, pose);
            assert!(may_show_card(&crate::ops::halve(&img)), "dot {dot}");
        }
        let mut grey = RgbImage::new(400, 300);
        grey.pixels.iter_mut().for_each(|p| *p = 100);
        assert!(!may_show_card(&grey));
        // A bright patch of the wrong shape (a long strip) is not a card.
        let mut strip = grey.clone();
        for y in 140..150 {
            for x in 20..380 {
                strip.put(x, y, [250, 250, 250]);
            }
        }
        assert!(!may_show_card(&strip));
        // A card-shaped white patch speckled all over with dark marks (a stained sheet, a
        // tiled wall) is a bright rectangle but not a card: its margins and the gaps
        // between lines are as dark as the lines. Without the marks it passes as blank.
        let pose = Pose {
            cx: 190.0,
            cy: 150.0,
            angle: 0.0,
            dot: 1.8,
        };
        let mut poster = draw(["", "", ""], 400, 300, pose);
        assert!(!card_regions(&poster).is_empty());
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for v in 1..CARD_H - 1 {
            for u in 1..CARD_W - 1 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if seed >> 61 == 0 {
                    let (x, y) = pose.map(u as f32 + 0.5, v as f32 + 0.5);
                    poster.put(x as u32, y as u32, [20, 20, 20]);
                    poster.put(x as u32 + 1, y as u32, [20, 20, 20]);
                }
            }
        }
        assert!(card_regions(&poster).is_empty());
    }

    #[test]
    fn reads_near_the_gate_regions_and_in_a_crop() {
        let pose = Pose {
            cx: 520.0,
            cy: 330.0,
            angle: -6f32.to_radians(),
            dot: 3.6,
        };
        let img = draw(["31", "235", "404/13"], 800, 600, pose);
        let regions = card_regions(&crate::ops::halve(&img));
        assert_eq!(regions.len(), 1, "{regions:?}");
        let r = regions[0];
        // The region holds the card, and not much more.
        let whole = read_card(&img).expect("card read");
        for (x, y) in whole.corners {
            assert!((r.x0..r.x1).contains(&(x / 800.0)) && (r.y0..r.y1).contains(&(y / 600.0)));
        }
        assert!((r.x1 - r.x0) * (r.y1 - r.y0) < 0.2, "{r:?}");
        let near = read_card_near(&img, &regions).expect("card read near the region");
        assert_eq!(near.lines, whole.lines);
        assert_eq!(near.report.as_deref(), Some("404/13"));
        // A crop read on its own reports corners in the whole photo's pixels.
        let (x0, y0) = ((r.x0 * 800.0) as u32, (r.y0 * 600.0) as u32);
        let (x1, y1) = ((r.x1 * 800.0) as u32, (r.y1 * 600.0) as u32);
        let crop = crate::ops::crop(&img, x0, y0, x1 - x0, y1 - y0);
        let covers = Region {
            x0: x0 as f32 / 800.0,
            y0: y0 as f32 / 600.0,
            x1: x1 as f32 / 800.0,
            y1: y1 as f32 / 600.0,
        };
        let inside = read_card_in(&crop, covers).expect("card read in the crop");
        assert_eq!(inside.lines, whole.lines);
        for (a, b) in inside.corners.iter().zip(whole.corners) {
            assert!(
                (a.0 - b.0).abs() < 2.0 && (a.1 - b.1).abs() < 2.0,
                "{a:?} {b:?}"
            );
        }
        // Hints that miss the card cost time, never the card.
        let wrong = [Region {
            x0: 0.0,
            y0: 0.0,
            x1: 0.2,
            y1: 0.2,
        }];
        assert_eq!(
            read_card_near(&img, &wrong).map(|c| c.lines),
            Some(whole.lines)
        );
    }
}
