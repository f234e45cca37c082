//! Procedural, abstract scenes. Nothing here depicts a person: a body scene
//! is a grey floor, a grey rounded capsule ("figure") and a white card.
//!
//! Pipeline per photo: evaluate the scene (with camera framing and lighting)
//! on a half-resolution grid, upsample bilinearly to full resolution, apply
//! the camera's fixed PRNU gain and per-shot sensor noise, quantise to RGB8.

use std::f32::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::camera::Camera;
use crate::card::{self, CARD_H, CARD_W};
use crate::noise::{
    fract, fsin, gauss_table, h01, ifloor, lerp3, mix, scale3, smoothstep, snoise, splitmix,
    value_noise, GAUSS_BITS,
};
use crate::plan::{CardKind, PhotoPlan, Scene};

pub(crate) const TAG_PHOTO: u64 = 0x5048_4F54;
pub(crate) const TAG_BODY: u64 = 0x424F_4459;

pub(crate) trait Shade {
    /// Linear-ish RGB in 0..255 at world point `(x, y)`.
    fn shade(&self, x: f32, y: f32) -> [f32; 3];
}

fn deg(d: f32) -> f32 {
    d * PI / 180.0
}

fn rgb(rng: &mut ChaCha8Rng, base: [f32; 3], jitter: f32) -> [f32; 3] {
    [
        base[0] * rng.gen_range(1.0 - jitter..1.0 + jitter),
        base[1] * rng.gen_range(1.0 - jitter..1.0 + jitter),
        base[2] * rng.gen_range(1.0 - jitter..1.0 + jitter),
    ]
}

fn grey(rng: &mut ChaCha8Rng, lo: f32, hi: f32, tint: f32) -> [f32; 3] {
    let v = rng.gen_range(lo..hi);
    rgb(rng, [v, v, v], tint)
}

// ------------------------------------------------------------ framing

/// Maps image-normalised coordinates (x / width, y / width) to world
/// coordinates: `world = c + R(rot) * (p - centre) / scale`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    scale: f32,
    aspect: f32,
}

impl View {
    fn identity(aspect: f32) -> View {
        View {
            cx: 0.5,
            cy: aspect * 0.5,
            cos: 1.0,
            sin: 0.0,
            scale: 1.0,
            aspect,
        }
    }

    #[inline]
    fn map(&self, u: f32, v: f32) -> (f32, f32) {
        let du = u - 0.5;
        let dv = v - self.aspect * 0.5;
        let k = 1.0 / self.scale;
        (
            (du * self.cos - dv * self.sin) * k + self.cx,
            (du * self.sin + dv * self.cos) * k + self.cy,
        )
    }

    fn unmap(&self, x: f32, y: f32) -> (f32, f32) {
        let dx = (x - self.cx) * self.scale;
        let dy = (y - self.cy) * self.scale;
        (
            dx * self.cos + dy * self.sin + 0.5,
            -dx * self.sin + dy * self.cos + self.aspect * 0.5,
        )
    }
}

/// Smooth illumination: brightness, linear gradient, vignette, white balance.
pub(crate) struct Light {
    b: f32,
    gx: f32,
    gy: f32,
    vig: f32,
    wb: [f32; 3],
    aspect: f32,
}

impl Light {
    fn random(rng: &mut ChaCha8Rng, aspect: f32) -> Light {
        Light {
            b: rng.gen_range(0.82..1.12),
            gx: rng.gen_range(-0.3..0.3),
            gy: rng.gen_range(-0.3..0.3),
            vig: rng.gen_range(0.0..0.35),
            wb: [rng.gen_range(0.95..1.05), 1.0, rng.gen_range(0.95..1.05)],
            aspect,
        }
    }

    #[inline]
    fn factor(&self, u: f32, v: f32) -> f32 {
        let du = u - 0.5;
        let dv = v - self.aspect * 0.5;
        let r2 = (du * du + dv * dv) / (0.25 + self.aspect * self.aspect * 0.25);
        self.b * (1.0 + self.gx * du + self.gy * dv) * (1.0 - self.vig * r2)
    }
}

// ------------------------------------------------------------ body scene

struct Tiles {
    inv: f32,
    grout: f32,
    var: f32,
    dark: f32,
}

struct Floor {
    base: [f32; 3],
    stain: f32,
    fine: f32,
    seed: u32,
    tiles: Option<Tiles>,
}

impl Floor {
    #[inline]
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        let mut k = 1.0
            + self.stain * snoise(x * 7.0, y * 7.0, self.seed)
            + self.fine * snoise(x * 70.0, y * 70.0, self.seed ^ 0x55);
        if let Some(t) = &self.tiles {
            let tx = x * t.inv;
            let ty = y * t.inv;
            let (ix, iy) = (ifloor(tx), ifloor(ty));
            let (fx, fy) = (tx - ix as f32, ty - iy as f32);
            // Distance to the nearest grout line (lines on integer coordinates),
            // with a soft edge of about one grid step.
            let d = fx.min(1.0 - fx).min(fy).min(1.0 - fy);
            let e = 0.0015 * t.inv;
            let inside = smoothstep(t.grout * 0.5 - e, t.grout * 0.5 + e, d);
            let tile = 1.0 + t.var * (h01(ix, iy, self.seed) - 0.5);
            k *= t.dark + (tile - t.dark) * inside;
        }
        scale3(self.base, k)
    }
}

/// A tapered capsule: the abstract "figure".
struct Figure {
    ax: f32,
    ay: f32,
    ux: f32,
    uy: f32,
    len: f32,
    r: f32,
    taper: f32,
    color: [f32; 3],
    fold_freq: f32,
    fold_phase: f32,
    fold_amp: f32,
    sx: f32,
    sy: f32,
}

impl Figure {
    /// (signed distance, position along the axis 0..1, normalised radial distance)
    #[inline]
    fn dist(&self, x: f32, y: f32) -> (f32, f32, f32) {
        let px = x - self.ax;
        let py = y - self.ay;
        let t = ((px * self.ux + py * self.uy) / self.len).clamp(0.0, 1.0);
        let dx = px - self.ux * t * self.len;
        let dy = py - self.uy * t * self.len;
        let d = (dx * dx + dy * dy).sqrt();
        let r = self.r * (1.0 - self.taper * t);
        (d - r, t, d / r)
    }
}

struct CardPaint {
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    inv_dot: f32,
    paper: [f32; 3],
    ink: [f32; 3],
    bitmap: Vec<bool>,
    sx: f32,
    sy: f32,
}

impl CardPaint {
    #[inline]
    fn local(&self, x: f32, y: f32) -> Option<(usize, usize)> {
        let dx = x - self.cx;
        let dy = y - self.cy;
        let u = (dx * self.cos + dy * self.sin) * self.inv_dot + CARD_W as f32 * 0.5;
        let v = (-dx * self.sin + dy * self.cos) * self.inv_dot + CARD_H as f32 * 0.5;
        (u >= 0.0 && v >= 0.0 && u < CARD_W as f32 && v < CARD_H as f32)
            .then_some((u as usize, v as usize))
    }

    fn corners(&self) -> [(f32, f32); 4] {
        let hw = CARD_W as f32 * 0.5 / self.inv_dot;
        let hh = CARD_H as f32 * 0.5 / self.inv_dot;
        [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)].map(|(u, v)| {
            (
                self.cx + u * self.cos - v * self.sin,
                self.cy + u * self.sin + v * self.cos,
            )
        })
    }
}

pub(crate) struct BodyScene {
    floor: Floor,
    fig: Figure,
    card: Option<CardPaint>,
}

impl BodyScene {
    /// Everything fixed for one body (same in all its shots).
    fn new(seed: u64, photo: &PhotoPlan, aspect: f32) -> BodyScene {
        let bi = photo.body_index.unwrap_or(0) as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, TAG_BODY, bi));
        let floor = Floor {
            base: grey(&mut rng, 70.0, 140.0, 0.05),
            stain: rng.gen_range(0.04..0.12),
            fine: rng.gen_range(0.02..0.05),
            seed: rng.gen(),
            tiles: rng.gen_bool(0.6).then(|| Tiles {
                inv: 1.0 / rng.gen_range(0.07..0.15),
                grout: rng.gen_range(0.04..0.08),
                var: rng.gen_range(0.05..0.15),
                dark: rng.gen_range(0.55..0.8),
            }),
        };
        let (mcx, mcy) = (
            0.5 + rng.gen_range(-0.04..0.04),
            aspect * 0.5 + rng.gen_range(-0.03..0.03),
        );
        let (mut angle, len) = if rng.gen_bool(0.7) {
            (deg(rng.gen_range(-20.0..20.0)), rng.gen_range(0.55..0.68))
        } else {
            (
                deg(90.0 + rng.gen_range(-15.0..15.0)),
                rng.gen_range(0.45..(aspect * 0.8).clamp(0.46, 0.6)),
            )
        };
        if rng.gen_bool(0.5) {
            angle += PI;
        }
        let (ux, uy) = (angle.cos(), angle.sin());
        let r = rng.gen_range(0.065..0.095);
        let seg = len - 2.0 * r;
        let (lx, ly) = {
            let a = rng.gen_range(0.0..2.0 * PI);
            (a.cos() * 0.012, a.sin() * 0.012)
        };
        let palette = [
            [1.0, 1.0, 1.0],
            [0.92, 0.96, 1.04],
            [1.05, 1.0, 0.9],
            [0.97, 1.0, 0.97],
        ];
        let tone = rng.gen_range(120.0..200.0);
        let pc = palette[rng.gen_range(0..palette.len())];
        let fig = Figure {
            ax: mcx - ux * seg * 0.5,
            ay: mcy - uy * seg * 0.5,
            ux,
            uy,
            len: seg,
            r,
            taper: rng.gen_range(0.0..0.2),
            color: rgb(&mut rng, scale3(pc, tone), 0.03),
            fold_freq: rng.gen_range(12.0..30.0),
            fold_phase: rng.gen_range(0.0..2.0 * PI),
            fold_amp: rng.gen_range(0.02..0.07),
            sx: lx,
            sy: ly,
        };
        let end = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let along = end * rng.gen_range(0.15..0.28) * len;
        let perp = rng.gen_range(-0.5..0.5) * r;
        let dot = rng.gen_range(0.0040..0.0046f32);
        let tilt = deg(rng.gen_range(-8.0..8.0));
        let hw = CARD_W as f32 * dot * 0.5;
        let hh = CARD_H as f32 * dot * 0.5;
        let ccx = (mcx + ux * along - uy * perp).clamp(hw + 0.07, 1.0 - hw - 0.07);
        let ccy = (mcy + uy * along + ux * perp).clamp(hh + 0.06, aspect - hh - 0.06);
        let paper = grey(&mut rng, 232.0, 248.0, 0.015);
        let ink = grey(&mut rng, 10.0, 35.0, 0.1);
        let card = photo.card_lines().map(|lines| CardPaint {
            cx: ccx,
            cy: ccy,
            cos: tilt.cos(),
            sin: tilt.sin(),
            inv_dot: 1.0 / dot,
            paper,
            ink,
            bitmap: card::bitmap(&[&lines[0], &lines[1], &lines[2]]),
            sx: lx * 0.4,
            sy: ly * 0.4,
        });
        debug_assert!(photo.card != Some(CardKind::Numbers) || card.is_some());
        BodyScene { floor, fig, card }
    }

    /// Per-shot framing: small shift, zoom and roll, keeping the card in frame.
    fn view(&self, rng: &mut ChaCha8Rng, aspect: f32) -> View {
        for attempt in 0..8 {
            let k = 1.0 / (1 + attempt / 3) as f32;
            let rot = deg(rng.gen_range(-4.0..4.0) * k);
            let v = View {
                cx: 0.5 + rng.gen_range(-0.035..0.035) * k,
                cy: aspect * 0.5 + rng.gen_range(-0.03..0.03) * k,
                cos: rot.cos(),
                sin: rot.sin(),
                scale: 1.0 + rng.gen_range(-0.08..0.12) * k,
                aspect,
            };
            let ok = match &self.card {
                None => true,
                Some(c) => c.corners().iter().all(|&(x, y)| {
                    let (u, w) = v.unmap(x, y);
                    (0.015..0.985).contains(&u) && (0.015..aspect - 0.015).contains(&w)
                }),
            };
            if ok {
                return v;
            }
        }
        View::identity(aspect)
    }
}

impl Shade for BodyScene {
    #[inline]
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        const AA: f32 = 0.0012;
        // The card itself is painted at full resolution by `Overlay`.
        let card = self.card.as_ref();
        let f = &self.fig;
        let (d, t, q) = f.dist(x, y);
        let fig = || {
            let n = q.min(1.0);
            let round = (1.0 - n * n).max(0.0).sqrt();
            let fold = 1.0 + f.fold_amp * fsin(t * f.fold_freq + f.fold_phase + n * 2.5);
            scale3(f.color, (0.5 + 0.5 * round) * fold)
        };
        let mut c = if d < -AA {
            fig()
        } else {
            let mut c = self.floor.shade(x, y);
            if d < 0.045 {
                let (ds, _, _) = f.dist(x - f.sx, y - f.sy);
                if ds < 0.03 {
                    c = scale3(c, 1.0 - 0.45 * (1.0 - smoothstep(-0.01, 0.03, ds)));
                }
            }
            if d < AA {
                c = lerp3(c, fig(), smoothstep(AA, -AA, d));
            }
            c
        };
        if let Some(card) = card {
            if card.local(x - card.sx, y - card.sy).is_some() {
                c = scale3(c, 0.7);
            }
        }
        c
    }
}

// ------------------------------------------------------------ distractors

struct Corridor {
    vx: f32,
    vy: f32,
    a: f32,
    b: f32,
    wall: [f32; 3],
    wall2: [f32; 3],
    floor: [f32; 3],
    ceil: [f32; 3],
    back: [f32; 3],
    door: [f32; 3],
    density: f32,
    dado: f32,
    seed: u32,
}

impl Shade for Corridor {
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        let dx = x - self.vx;
        let dy = y - self.vy;
        let rx = dx.abs() / self.a;
        let ry = dy.abs() / self.b;
        let m = rx.max(ry);
        if m <= 1.0 {
            let k = 0.6 + 0.05 * snoise(x * 40.0, y * 40.0, self.seed);
            return scale3(self.back, k);
        }
        let depth = 6.0 / m;
        let bright = 1.0 - 0.5 * (1.0 / m);
        let c = if rx > ry {
            let s = dy / (rx * self.b);
            let side = (dx > 0.0) as i32;
            let cell = ifloor(depth * 1.2);
            let f = depth * 1.2 - cell as f32;
            if h01(cell, side, self.seed) < self.density && f > 0.25 && f < 0.6 && s > -0.35 {
                self.door
            } else if s > 0.93 {
                scale3(self.wall2, 0.5)
            } else if s > self.dado {
                self.wall2
            } else {
                self.wall
            }
        } else {
            let c = dx / (ry * self.a);
            if dy > 0.0 {
                let g = fract(depth * 2.0) < 0.05 || fract((c + 1.0) * 3.0) < 0.04;
                scale3(self.floor, if g { 0.7 } else { 1.0 })
            } else {
                let f = fract(depth * 0.8);
                if f > 0.4 && f < 0.55 && c.abs() < 0.25 {
                    [250.0, 250.0, 245.0]
                } else {
                    self.ceil
                }
            }
        };
        scale3(
            c,
            bright * (1.0 + 0.04 * snoise(x * 30.0, y * 30.0, self.seed ^ 9)),
        )
    }
}

fn corridor(rng: &mut ChaCha8Rng, aspect: f32) -> Corridor {
    let a = rng.gen_range(0.08..0.2);
    let wall = grey(rng, 140.0, 220.0, 0.12);
    Corridor {
        vx: rng.gen_range(0.3..0.7),
        vy: aspect * rng.gen_range(0.38..0.62),
        a,
        b: a * rng.gen_range(0.8..1.4),
        wall,
        wall2: if rng.gen_bool(0.5) {
            grey(rng, 60.0, 160.0, 0.2)
        } else {
            wall
        },
        floor: grey(rng, 60.0, 150.0, 0.1),
        ceil: grey(rng, 170.0, 235.0, 0.04),
        back: grey(rng, 90.0, 220.0, 0.15),
        door: grey(rng, 50.0, 130.0, 0.25),
        density: rng.gen_range(0.2..0.8),
        dado: rng.gen_range(-0.1..0.5),
        seed: rng.gen(),
    }
}

struct Rect {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    color: [f32; 3],
    frame: f32,
    frame_color: [f32; 3],
    window: bool,
}

struct Wall {
    top: [f32; 3],
    bottom: [f32; 3],
    y_base: f32,
    y_floor: f32,
    base: [f32; 3],
    floor: [f32; 3],
    rects: Vec<Rect>,
    seed: u32,
}

impl Shade for Wall {
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        let n = 1.0 + 0.03 * snoise(x * 25.0, y * 25.0, self.seed);
        if y > self.y_floor {
            return scale3(self.floor, n + 0.05 * snoise(x * 80.0, y * 8.0, self.seed));
        }
        if y > self.y_base {
            return scale3(self.base, n);
        }
        for r in self.rects.iter().rev() {
            if x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1 {
                let edge = (x - r.x0).min(r.x1 - x).min(y - r.y0).min(r.y1 - y);
                if edge < r.frame {
                    return r.frame_color;
                }
                if r.window {
                    let mx = (r.x0 + r.x1) * 0.5;
                    let my = (r.y0 + r.y1) * 0.5;
                    if (x - mx).abs() < r.frame * 0.5 || (y - my).abs() < r.frame * 0.5 {
                        return r.frame_color;
                    }
                    return lerp3(r.color, [250.0; 3], (y - r.y0) / (r.y1 - r.y0) * 0.5);
                }
                return scale3(r.color, n);
            }
        }
        scale3(lerp3(self.top, self.bottom, y / self.y_base), n)
    }
}

fn wall(rng: &mut ChaCha8Rng, aspect: f32) -> Wall {
    let y_base = aspect * rng.gen_range(0.6..0.95);
    let y_floor = y_base + rng.gen_range(0.01..0.03);
    let rects = (0..rng.gen_range(1..=5))
        .map(|_| {
            let w = rng.gen_range(0.06..0.35);
            let h = rng.gen_range(0.06..0.35f32).min(y_base * 0.8);
            let x0 = rng.gen_range(-0.05..1.0 - w * 0.5);
            let y0 = rng.gen_range(0.0..(y_base - h).max(0.01));
            Rect {
                x0,
                y0,
                x1: x0 + w,
                y1: y0 + h,
                color: grey(rng, 30.0, 230.0, 0.35),
                frame: rng.gen_range(0.0..0.015),
                frame_color: grey(rng, 20.0, 200.0, 0.2),
                window: rng.gen_bool(0.25),
            }
        })
        .collect();
    let top = grey(rng, 110.0, 215.0, 0.15);
    Wall {
        top,
        bottom: scale3(top, rng.gen_range(0.6..1.1)),
        y_base,
        y_floor,
        base: grey(rng, 30.0, 120.0, 0.15),
        floor: grey(rng, 40.0, 140.0, 0.15),
        rects,
        seed: rng.gen(),
    }
}

struct Document {
    bg: [f32; 3],
    paper: [f32; 3],
    ink: [f32; 3],
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    hw: f32,
    hh: f32,
    margin: f32,
    row_h: f32,
    char_w: f32,
    header_rows: i32,
    stamp: (f32, f32, f32, [f32; 3]),
    seed: u32,
}

impl Document {
    #[inline]
    fn local(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        let dx = x - self.cx;
        let dy = y - self.cy;
        let u = dx * self.cos + dy * self.sin + self.hw;
        let v = -dx * self.sin + dy * self.cos + self.hh;
        (u >= 0.0 && v >= 0.0 && u < 2.0 * self.hw && v < 2.0 * self.hh).then_some((u, v))
    }
}

impl Shade for Document {
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        let Some((u, v)) = self.local(x, y) else {
            let k = 1.0 + 0.12 * snoise(x * 3.0, y * 50.0, self.seed);
            let shadow = self.local(x - 0.008, y - 0.01).is_some();
            return scale3(self.bg, if shadow { 0.6 * k } else { k });
        };
        let mut c = scale3(self.paper, 1.0 - 0.05 * (v / (2.0 * self.hh)));
        let tw = 2.0 * self.hw - 2.0 * self.margin;
        let (tu, tv) = (u - self.margin, v - self.margin);
        if tu >= 0.0 && tu < tw && tv >= 0.0 && tv < 2.0 * self.hh - 2.0 * self.margin {
            let row = ifloor(tv / self.row_h);
            let fv = tv / self.row_h - row as f32;
            let header = row < self.header_rows;
            let band = if header { 0.75 } else { 0.5 };
            if fv < band && h01(row, 7, self.seed) > 0.12 {
                let len = if header {
                    0.3 + 0.3 * h01(row, 3, self.seed)
                } else if h01(row, 5, self.seed) < 0.2 {
                    0.2 + 0.6 * h01(row, 4, self.seed)
                } else {
                    1.0
                };
                let start = if header { (1.0 - len) * 0.5 } else { 0.0 };
                let cw = if header {
                    self.char_w * 1.6
                } else {
                    self.char_w
                };
                let col = ifloor(tu / cw);
                let frac = tu / tw;
                if frac >= start
                    && frac < start + len
                    && fract(tu / cw) < 0.8
                    && h01(col, row, self.seed ^ 0x77) > 0.17
                {
                    c = self.ink;
                }
            }
        }
        let (sx, sy, sr, sc) = self.stamp;
        let d = ((u - sx).powi(2) + (v - sy).powi(2)).sqrt();
        if (d > sr * 0.82 && d < sr) || (d < sr * 0.6 && (v - sy).abs() < sr * 0.1) {
            c = lerp3(c, sc, 0.65);
        }
        c
    }
}

fn document(rng: &mut ChaCha8Rng, aspect: f32) -> Document {
    let hw = rng.gen_range(0.3..0.45);
    let hh = rng.gen_range(0.28..0.55);
    let tilt = deg(rng.gen_range(-7.0..7.0));
    let margin = rng.gen_range(0.03..0.07);
    let stamp_colors = [
        [60.0, 70.0, 170.0],
        [120.0, 50.0, 140.0],
        [40.0, 90.0, 160.0],
    ];
    Document {
        bg: grey(rng, 40.0, 140.0, 0.25),
        paper: grey(rng, 215.0, 245.0, 0.03),
        ink: grey(rng, 20.0, 70.0, 0.15),
        cx: 0.5 + rng.gen_range(-0.08..0.08),
        cy: aspect * 0.5 + rng.gen_range(-0.1..0.1),
        cos: tilt.cos(),
        sin: tilt.sin(),
        hw,
        hh,
        margin,
        row_h: rng.gen_range(0.016..0.03),
        char_w: rng.gen_range(0.006..0.011),
        header_rows: rng.gen_range(0..4),
        stamp: (
            rng.gen_range(margin..2.0 * hw - margin),
            rng.gen_range(hh..2.0 * hh - margin),
            rng.gen_range(0.035..0.07),
            stamp_colors[rng.gen_range(0..stamp_colors.len())],
        ),
        seed: rng.gen(),
    }
}

enum Shape {
    Disk {
        r: f32,
        rim: f32,
    },
    Rect {
        hw: f32,
        hh: f32,
        cos: f32,
        sin: f32,
    },
    Ellipse {
        rx: f32,
        ry: f32,
        cos: f32,
        sin: f32,
    },
}

struct Obj {
    cx: f32,
    cy: f32,
    shape: Shape,
    color: [f32; 3],
    inner: [f32; 3],
}

impl Obj {
    /// `None` outside, else a shading factor / inner flag.
    #[inline]
    fn hit(&self, x: f32, y: f32) -> Option<(f32, bool)> {
        let dx = x - self.cx;
        let dy = y - self.cy;
        match self.shape {
            Shape::Disk { r, rim } => {
                let d2 = dx * dx + dy * dy;
                (d2 < r * r).then(|| (1.0 - 0.2 * d2 / (r * r), d2 < (r - rim) * (r - rim)))
            }
            Shape::Rect { hw, hh, cos, sin } => {
                let u = dx * cos + dy * sin;
                let v = -dx * sin + dy * cos;
                (u.abs() < hw && v.abs() < hh).then(|| (1.0 - 0.15 * (v / hh + 1.0), false))
            }
            Shape::Ellipse { rx, ry, cos, sin } => {
                let u = (dx * cos + dy * sin) / rx;
                let v = (-dx * sin + dy * cos) / ry;
                let q = u * u + v * v;
                (q < 1.0).then(|| (0.7 + 0.3 * (1.0 - q).sqrt(), false))
            }
        }
    }
}

struct Table {
    wood: [f32; 3],
    cos: f32,
    sin: f32,
    grain: f32,
    objs: Vec<Obj>,
    sx: f32,
    sy: f32,
    seed: u32,
}

impl Shade for Table {
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        for o in self.objs.iter().rev() {
            if let Some((k, inner)) = o.hit(x, y) {
                return scale3(if inner { o.inner } else { o.color }, k);
            }
        }
        let xr = x * self.cos + y * self.sin;
        let yr = -x * self.sin + y * self.cos;
        let g = 0.5 * snoise(xr * 4.0, yr * 60.0, self.seed)
            + 0.08 * fsin(yr * self.grain + 6.0 * snoise(xr * 3.0, yr * 3.0, self.seed ^ 3));
        let mut k = 1.0 + 0.15 * g;
        if self
            .objs
            .iter()
            .any(|o| o.hit(x - self.sx, y - self.sy).is_some())
        {
            k *= 0.62;
        }
        scale3(self.wood, k)
    }
}

fn table(rng: &mut ChaCha8Rng, aspect: f32) -> Table {
    let woods = [
        [150.0, 100.0, 60.0],
        [110.0, 75.0, 45.0],
        [180.0, 150.0, 110.0],
        [120.0, 120.0, 115.0],
    ];
    let a = deg(rng.gen_range(-30.0..30.0));
    let objs = (0..rng.gen_range(3..=7))
        .map(|_| {
            let rot = rng.gen_range(0.0..PI);
            let shape = match rng.gen_range(0..3) {
                0 => {
                    let r = rng.gen_range(0.03..0.1);
                    Shape::Disk {
                        r,
                        rim: r * rng.gen_range(0.1..0.3),
                    }
                }
                1 => Shape::Rect {
                    hw: rng.gen_range(0.04..0.16),
                    hh: rng.gen_range(0.03..0.11),
                    cos: rot.cos(),
                    sin: rot.sin(),
                },
                _ => Shape::Ellipse {
                    rx: rng.gen_range(0.03..0.12),
                    ry: rng.gen_range(0.02..0.06),
                    cos: rot.cos(),
                    sin: rot.sin(),
                },
            };
            Obj {
                cx: rng.gen_range(0.08..0.92),
                cy: rng.gen_range(0.06..aspect - 0.06),
                shape,
                color: grey(rng, 40.0, 240.0, 0.4),
                inner: grey(rng, 20.0, 120.0, 0.3),
            }
        })
        .collect();
    let wood = woods[rng.gen_range(0..woods.len())];
    Table {
        wood: rgb(rng, wood, 0.1),
        cos: a.cos(),
        sin: a.sin(),
        grain: rng.gen_range(60.0..250.0),
        objs,
        sx: rng.gen_range(-0.015..0.015),
        sy: rng.gen_range(0.005..0.02),
        seed: rng.gen(),
    }
}

struct Building {
    x0: f32,
    x1: f32,
    top: f32,
    color: [f32; 3],
    windows: bool,
}

struct Outdoor {
    horizon: f32,
    tilt: f32,
    sky_top: [f32; 3],
    sky_low: [f32; 3],
    ground: [f32; 3],
    ground2: [f32; 3],
    cloud: f32,
    buildings: Vec<Building>,
    trees: Vec<(f32, f32, f32)>,
    tree: [f32; 3],
    seed: u32,
}

impl Shade for Outdoor {
    fn shade(&self, x: f32, y: f32) -> [f32; 3] {
        let hy = self.horizon + self.tilt * (x - 0.5);
        for &(tx, ty, r) in &self.trees {
            let d2 = (x - tx).powi(2) + (y - ty).powi(2) * 1.4;
            if d2 < r * r {
                let k = 0.8 + 0.3 * value_noise(x * 90.0, y * 90.0, self.seed ^ 5);
                return scale3(self.tree, k);
            }
        }
        if y > hy {
            let t = value_noise(x * 8.0, y * 30.0, self.seed);
            let k = 0.85 + 0.15 * ((y - hy) / 0.3).min(1.0);
            return scale3(lerp3(self.ground, self.ground2, t), k);
        }
        for b in &self.buildings {
            if x >= b.x0 && x < b.x1 && y >= b.top {
                if b.windows {
                    let fx = fract((x - b.x0) / 0.025);
                    let fy = fract((y - b.top) / 0.03);
                    if fx > 0.3 && fx < 0.7 && fy > 0.3 && fy < 0.7 {
                        return scale3(b.color, 0.45);
                    }
                }
                return b.color;
            }
        }
        let sky = lerp3(self.sky_top, self.sky_low, (y / hy).clamp(0.0, 1.0));
        let n = 0.65 * value_noise(x * 4.0, y * 10.0, self.seed ^ 1)
            + 0.35 * value_noise(x * 12.0, y * 24.0, self.seed ^ 2);
        lerp3(
            sky,
            [245.0, 245.0, 245.0],
            smoothstep(self.cloud, self.cloud + 0.15, n),
        )
    }
}

fn outdoor(rng: &mut ChaCha8Rng, aspect: f32) -> Outdoor {
    let horizon = aspect * rng.gen_range(0.35..0.7);
    let buildings = (0..rng.gen_range(0..7))
        .map(|_| {
            let x0 = rng.gen_range(-0.1..1.0);
            Building {
                x0,
                x1: x0 + rng.gen_range(0.05..0.3),
                top: horizon - rng.gen_range(0.03..horizon * 0.8),
                color: grey(rng, 90.0, 210.0, 0.12),
                windows: rng.gen_bool(0.6),
            }
        })
        .collect();
    let trees = (0..rng.gen_range(0..6))
        .map(|_| {
            (
                rng.gen_range(0.0..1.0),
                horizon + rng.gen_range(-0.05..0.05),
                rng.gen_range(0.02..0.08),
            )
        })
        .collect();
    let grounds = [
        [110.0, 95.0, 70.0],
        [90.0, 110.0, 60.0],
        [120.0, 120.0, 118.0],
        [160.0, 140.0, 100.0],
    ];
    let g = grounds[rng.gen_range(0..grounds.len())];
    Outdoor {
        horizon,
        tilt: rng.gen_range(-0.06..0.06),
        sky_top: rgb(rng, [70.0, 120.0, 200.0], 0.15),
        sky_low: rgb(rng, [200.0, 215.0, 230.0], 0.05),
        ground: rgb(rng, g, 0.1),
        ground2: rgb(rng, g, 0.25),
        cloud: rng.gen_range(0.45..0.8),
        buildings,
        trees,
        tree: rgb(rng, [50.0, 80.0, 40.0], 0.2),
        seed: rng.gen(),
    }
}

// ------------------------------------------------------------ pipeline

/// Grid step: the scene is evaluated on every `STEP`-th pixel in both
/// directions and upsampled bilinearly; the card is drawn at full resolution
/// on top (see [`Overlay`]).
const STEP: usize = 4;

fn grid_dims(w: usize, h: usize) -> (usize, usize) {
    (w / STEP + 2, h / STEP + 2)
}

/// Evaluate `scene` on the coarse grid: grid point `(gx, gy)` is the centre
/// of full-resolution pixel `(STEP*gx, STEP*gy)`. Interleaved RGB f32.
fn grid<S: Shade>(scene: &S, view: &View, light: &Light, w: usize, h: usize, out: &mut Vec<f32>) {
    let (gw, gh) = grid_dims(w, h);
    let inv_w = 1.0 / w as f32;
    out.clear();
    out.reserve(gw * gh * 3);
    for gy in 0..gh {
        let v = ((STEP * gy) as f32 + 0.5) * inv_w;
        for gx in 0..gw {
            let u = ((STEP * gx) as f32 + 0.5) * inv_w;
            let (x, y) = view.map(u, v);
            let c = scene.shade(x, y);
            let l = light.factor(u, v);
            out.push(c[0] * l * light.wb[0]);
            out.push(c[1] * l * light.wb[1]);
            out.push(c[2] * l * light.wb[2]);
        }
    }
}

/// Round to nearest and saturate to 0..=255, branch-free (the low mantissa
/// bits of `x + 1.5 * 2^23` are the rounded integer), so loops vectorise.
/// `max`/`min` rather than `clamp`: maps NaN to 0 instead of propagating it.
#[inline]
#[allow(clippy::manual_clamp)]
fn to_u8(x: f32) -> u8 {
    (x.max(0.0).min(255.0) + 12_582_912.0).to_bits() as u8
}

/// Linear `STEP`x upsampling of one grid row.
#[inline]
fn upsample_row(src: &[f32], dst: &mut [f32]) {
    const F: [f32; STEP] = [0.0, 0.25, 0.5, 0.75];
    let n = dst.len() / STEP;
    let src = &src[..n + 2];
    let (body, tail) = dst.split_at_mut(n * STEP);
    for (j, quad) in body.chunks_exact_mut(STEP).enumerate() {
        let a = src[j];
        let d = src[j + 1] - a;
        for (q, f) in quad.iter_mut().zip(F) {
            *q = a + d * f;
        }
    }
    let (a, d) = (src[n], src[n + 1] - src[n]);
    for (q, f) in tail.iter_mut().zip(F) {
        *q = a + d * f;
    }
}

/// The card, drawn per pixel at full resolution with 4x supersampling.
pub(crate) struct Overlay<'a> {
    card: &'a CardPaint,
    view: View,
    light: &'a Light,
    /// Pixel bounding box (inclusive-exclusive).
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    inv_w: f32,
}

impl<'a> Overlay<'a> {
    fn new(card: &'a CardPaint, view: View, light: &'a Light, w: usize, h: usize) -> Self {
        let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for (x, y) in card.corners() {
            let (u, v) = view.unmap(x, y);
            x0 = x0.min(u * w as f32);
            x1 = x1.max(u * w as f32);
            y0 = y0.min(v * w as f32);
            y1 = y1.max(v * w as f32);
        }
        let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
        Overlay {
            card,
            view,
            light,
            x0: clampi(x0 - 2.0, w),
            x1: clampi(x1 + 3.0, w),
            y0: clampi(y0 - 2.0, h),
            y1: clampi(y1 + 3.0, h),
            inv_w: 1.0 / w as f32,
        }
    }

    /// Paint row `py` of the upsampled planes.
    fn paint(&self, py: usize, r: &mut [f32], g: &mut [f32], b: &mut [f32]) {
        if py < self.y0 || py >= self.y1 {
            return;
        }
        const SUB: [f32; 2] = [0.25, 0.75];
        for px in self.x0..self.x1 {
            let mut acc = [0f32; 3];
            let mut hits = 0u32;
            for sy in SUB {
                for sx in SUB {
                    let u = (px as f32 + sx) * self.inv_w;
                    let v = (py as f32 + sy) * self.inv_w;
                    let (x, y) = self.view.map(u, v);
                    if let Some((cu, cv)) = self.card.local(x, y) {
                        let c = if self.card.bitmap[cv * CARD_W + cu] {
                            self.card.ink
                        } else {
                            self.card.paper
                        };
                        acc[0] += c[0];
                        acc[1] += c[1];
                        acc[2] += c[2];
                        hits += 1;
                    }
                }
            }
            if hits == 0 {
                continue;
            }
            let u = (px as f32 + 0.5) * self.inv_w;
            let v = (py as f32 + 0.5) * self.inv_w;
            let l = self.light.factor(u, v) * 0.25;
            let keep = (4 - hits) as f32 * 0.25;
            r[px] = r[px] * keep + acc[0] * l * self.light.wb[0];
            g[px] = g[px] * keep + acc[1] * l * self.light.wb[1];
            b[px] = b[px] * keep + acc[2] * l * self.light.wb[2];
        }
    }
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub(crate) struct Scratch {
    grid: Vec<f32>,
    /// RGB8 output of [`render_rgb`].
    pub(crate) rgb: Vec<u8>,
    rows: Vec<f32>,
    q: Vec<u8>,
}

/// Upsample the grid, paint the card, and add the sensor: PRNU gain and
/// shot/read noise. Written as simple per-row slice loops so they vectorise.
#[allow(clippy::too_many_arguments)]
fn develop(
    g: &[f32],
    w: usize,
    h: usize,
    gain: &[f32],
    cam: &Camera,
    seed: u64,
    overlay: Option<&Overlay>,
    scratch: &mut Scratch,
) {
    let (gw, _) = grid_dims(w, h);
    let table = gauss_table();
    scratch.rgb.clear();
    scratch.rgb.resize(w * h * 3, 0);
    scratch.rows.clear();
    scratch.rows.resize(3 * gw + 3 * w, 0.0);
    scratch.q.clear();
    scratch.q.resize(3 * w, 0);
    let (gr, rest) = scratch.rows.split_at_mut(gw);
    let (gg, rest) = rest.split_at_mut(gw);
    let (gb, rest) = rest.split_at_mut(gw);
    let (ur, rest) = rest.split_at_mut(w);
    let (ug, ub) = rest.split_at_mut(w);
    let (qr, rest) = scratch.q.split_at_mut(w);
    let (qg, qb) = rest.split_at_mut(w);
    let (s0, s1) = (cam.noise.0, cam.noise.1 / 255.0);
    let mask = (1u64 << GAUSS_BITS) - 1;
    for py in 0..h {
        let gy = py / STEP;
        let fy = (py % STEP) as f32 / STEP as f32;
        let r0 = &g[gy * gw * 3..(gy + 1) * gw * 3];
        let r1 = &g[(gy + 1) * gw * 3..(gy + 2) * gw * 3];
        for (i, (a, b)) in r0.chunks_exact(3).zip(r1.chunks_exact(3)).enumerate() {
            gr[i] = a[0] + (b[0] - a[0]) * fy;
            gg[i] = a[1] + (b[1] - a[1]) * fy;
            gb[i] = a[2] + (b[2] - a[2]) * fy;
        }
        upsample_row(gr, ur);
        upsample_row(gg, ug);
        upsample_row(gb, ub);
        if let Some(o) = overlay {
            o.paint(py, ur, ug, ub);
        }
        // Sensor noise rows: luminance plus weaker independent chroma noise.
        let o = splitmix(seed ^ (py as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let nl = &table[(o & mask) as usize..][..w];
        let nr = &table[((o >> 21) & mask) as usize..][..w];
        let nb = &table[((o >> 42) & mask) as usize..][..w];
        let k = &gain[py * w..(py + 1) * w];
        let (ur, ug, ub) = (&ur[..w], &ug[..w], &ub[..w]);
        let (qr, qg, qb) = (&mut qr[..w], &mut qg[..w], &mut qb[..w]);
        for px in 0..w {
            let gv = ug[px];
            #[allow(clippy::manual_clamp)]
            let sigma = s0 + s1 * gv.max(0.0).min(255.0);
            let n = nl[px] * sigma;
            let cg = 0.35 * sigma;
            qr[px] = to_u8(ur[px] * k[px] + n + nr[px] * cg);
            qg[px] = to_u8(gv * k[px] + n);
            qb[px] = to_u8(ub[px] * k[px] + n + nb[px] * cg);
        }
        let orow = &mut scratch.rgb[py * w * 3..(py + 1) * w * 3];
        for (px, o) in orow.chunks_exact_mut(3).enumerate() {
            o[0] = qr[px];
            o[1] = qg[px];
            o[2] = qb[px];
        }
    }
}

/// Render the RGB8 pixels of `photo` (`w * h * 3` bytes) into `scratch.rgb`.
pub(crate) fn render_rgb(
    seed: u64,
    photo: &PhotoPlan,
    w: usize,
    h: usize,
    gain: &[f32],
    scratch: &mut Scratch,
) {
    assert_eq!(gain.len(), w * h, "PRNU pattern size");
    assert!(w <= crate::noise::GAUSS_PAD, "width too large");
    let aspect = h as f32 / w as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, TAG_PHOTO, photo.index as u64));
    let mut g = std::mem::take(&mut scratch.grid);
    let cam = photo.camera();
    match photo.scene {
        Scene::Body => {
            let scene = BodyScene::new(seed, photo, aspect);
            let view = scene.view(&mut rng, aspect);
            let light = Light::random(&mut rng, aspect);
            grid(&scene, &view, &light, w, h, &mut g);
            let overlay = scene
                .card
                .as_ref()
                .map(|c| Overlay::new(c, view, &light, w, h));
            develop(&g, w, h, gain, cam, rng.gen(), overlay.as_ref(), scratch);
        }
        other => {
            let view = View::identity(aspect);
            let light = Light::random(&mut rng, aspect);
            match other {
                Scene::Corridor => grid(&corridor(&mut rng, aspect), &view, &light, w, h, &mut g),
                Scene::Wall => grid(&wall(&mut rng, aspect), &view, &light, w, h, &mut g),
                Scene::Document => grid(&document(&mut rng, aspect), &view, &light, w, h, &mut g),
                Scene::Table => grid(&table(&mut rng, aspect), &view, &light, w, h, &mut g),
                _ => grid(&outdoor(&mut rng, aspect), &view, &light, w, h, &mut g),
            }
            develop(&g, w, h, gain, cam, rng.gen(), None, scratch);
        }
    };
    scratch.grid = g;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::CAMERAS;
    use crate::CorpusOptions;

    /// The card's dots land where `card::*` says: sample the centre of every
    /// dot in the rendered pixels and compare with the bitmap.
    #[test]
    fn card_dots_are_where_the_layout_says() {
        let opts = CorpusOptions {
            bodies: 6,
            seed: 5,
            width: 1000,
            height: 750,
            threads: 1,
        };
        let (w, h) = (1000usize, 750usize);
        let aspect = h as f32 / w as f32;
        let photos = crate::plan(&opts);
        let gain = crate::camera::prnu_pattern(&CAMERAS[0], 1000, 750);
        let mut checked = 0;
        for p in photos
            .iter()
            .filter(|p| p.card == Some(CardKind::Numbers))
            .step_by(5)
            .take(3)
        {
            let mut sc = Scratch::default();
            render_rgb(opts.seed, p, w, h, &gain, &mut sc);
            // Same draws as render_rgb.
            let mut rng = ChaCha8Rng::seed_from_u64(mix(opts.seed, TAG_PHOTO, p.index as u64));
            let scene = BodyScene::new(opts.seed, p, aspect);
            let view = scene.view(&mut rng, aspect);
            let card = scene.card.as_ref().unwrap();
            let dot = 1.0 / card.inv_dot;
            let (mut agree, mut total) = (0, 0);
            for v in 0..CARD_H {
                for u in 0..CARD_W {
                    let lu = (u as f32 + 0.5 - CARD_W as f32 * 0.5) * dot;
                    let lv = (v as f32 + 0.5 - CARD_H as f32 * 0.5) * dot;
                    let x = card.cx + lu * card.cos - lv * card.sin;
                    let y = card.cy + lu * card.sin + lv * card.cos;
                    let (iu, iv) = view.unmap(x, y);
                    let (px, py) = ((iu * w as f32) as usize, (iv * w as f32) as usize);
                    let o = (py * w + px) * 3;
                    let luma = (sc.rgb[o] as u32 + sc.rgb[o + 1] as u32 + sc.rgb[o + 2] as u32) / 3;
                    agree += ((luma < 128) == card.bitmap[v * CARD_W + u]) as u32;
                    total += 1;
                }
            }
            assert!(agree * 1000 >= total * 995, "{}: {agree}/{total}", p.path);
            checked += 1;
        }
        assert!(checked > 0);
    }

    /// `cargo test --release -p athar-corpus stage_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn stage_timing() {
        let opts = CorpusOptions {
            bodies: 10,
            ..Default::default()
        };
        let (w, h) = (1600usize, 1200usize);
        let photos = crate::plan(&opts);
        let gain = crate::camera::prnu_pattern(&CAMERAS[0], 1600, 1200);
        let mut sc = Scratch::default();
        for scene in [
            Scene::Body,
            Scene::Corridor,
            Scene::Wall,
            Scene::Document,
            Scene::Table,
            Scene::Outdoor,
        ] {
            let p = photos.iter().find(|p| p.scene == scene).unwrap();
            let mut best = std::time::Duration::MAX;
            for _ in 0..3 {
                let t = std::time::Instant::now();
                render_rgb(1, p, w, h, &gain, &mut sc);
                best = best.min(t.elapsed());
            }
            let t = std::time::Instant::now();
            let mut out = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_1);
            enc.encode(&sc.rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            eprintln!(
                "{:?}: render {:?} jpeg {:?} ({} KB)",
                scene,
                best,
                t.elapsed(),
                out.len() / 1000
            );
        }
    }
}
