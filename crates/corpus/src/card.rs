//! Layout of the white identification card placed on every body scene.
//!
//! The card is a grid of *dots* ([`CARD_W`] x [`CARD_H`]); dot `(x, y)` has
//! its top-left corner at `(x, y)` in card coordinates. It carries up to
//! [`LINES`] left-aligned lines of at most [`MAX_CHARS`] characters of
//! [`crate::font`]:
//!
//! | line | content | example |
//! |------|---------|---------|
//! | 0 | detainee number | `4512` |
//! | 1 | branch number (empty for Air Force Intelligence) | `215` |
//! | 2 | forensic report number, `number/yy` | `1873/12` |
//!
//! Character `i` of line `l` occupies dots
//! `x in MARGIN_X + i*CHAR_ADVANCE .. + GLYPH_W`,
//! `y in MARGIN_Y + l*LINE_ADVANCE .. + GLYPH_H`.
//! Paper is near white (about 232-248), ink near black (about 10-35).
//! In a photo one dot measures about [`NOMINAL_DOT`] x image width pixels
//! (x 0.9..1.12 for the framing zoom), and the card is rotated by at most
//! [`MAX_TILT_DEG`] degrees relative to the image axes.

use crate::font::{self, GLYPH_H, GLYPH_W};

/// Horizontal distance between the left edges of two characters, in dots.
pub const CHAR_ADVANCE: usize = GLYPH_W + 1;
/// Vertical distance between the top edges of two lines, in dots.
pub const LINE_ADVANCE: usize = GLYPH_H + 4;
/// Blank paper left of the text, in dots.
pub const MARGIN_X: usize = 4;
/// Blank paper above the first line, in dots.
pub const MARGIN_Y: usize = 4;
/// Maximum characters per line.
pub const MAX_CHARS: usize = 8;
/// Number of text lines.
pub const LINES: usize = 3;
/// Card width in dots.
pub const CARD_W: usize = 2 * MARGIN_X + MAX_CHARS * CHAR_ADVANCE - 1;
/// Card height in dots.
pub const CARD_H: usize = 2 * MARGIN_Y + (LINES - 1) * LINE_ADVANCE + GLYPH_H;
/// Typical dot size as a fraction of the image width (0.0040..0.0046 per body).
pub const NOMINAL_DOT: f32 = 0.0043;
/// Maximum rotation of the card relative to the image axes (card tilt plus
/// camera roll), in degrees.
pub const MAX_TILT_DEG: f32 = 12.0;

/// Rasterise the card: `CARD_W * CARD_H` booleans, row-major, `true` = ink.
/// Characters the font does not know and characters past [`MAX_CHARS`] are
/// left blank.
pub fn bitmap(lines: &[&str; LINES]) -> Vec<bool> {
    let mut out = vec![false; CARD_W * CARD_H];
    for (l, text) in lines.iter().enumerate() {
        for (i, c) in text.chars().take(MAX_CHARS).enumerate() {
            let Some(g) = font::glyph(c) else { continue };
            let x0 = MARGIN_X + i * CHAR_ADVANCE;
            let y0 = MARGIN_Y + l * LINE_ADVANCE;
            for r in 0..GLYPH_H {
                for col in 0..GLYPH_W {
                    if font::dot(g, col, r) {
                        out[(y0 + r) * CARD_W + x0 + col] = true;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(CARD_W, 55);
        assert_eq!(CARD_H, 37);
        let b = bitmap(&["1", "", "12345/13"]);
        // '1' top dot at column 2 of the first glyph.
        assert!(b[MARGIN_Y * CARD_W + MARGIN_X + 2]);
        // Empty second line.
        let l1 = MARGIN_Y + LINE_ADVANCE;
        assert!(!b[l1 * CARD_W..(l1 + GLYPH_H) * CARD_W].iter().any(|&x| x));
    }
}
