//! The bitmap font printed on the synthetic identification cards.
//!
//! Every glyph is [`GLYPH_W`] x [`GLYPH_H`] dots. Row `r` of a glyph is a
//! `u8` whose bit `GLYPH_W - 1 - c` (i.e. the most significant of the five
//! low bits is the left-most column) is set when dot `(c, r)` is inked.
//! The card renderer scales every dot to a square of `dot` pixels (see
//! [`crate::card`]), so strokes are one dot — several pixels — thick: bold,
//! crisp black on white, meant to be read back by template matching.

/// Glyph width in dots.
pub const GLYPH_W: usize = 5;
/// Glyph height in dots.
pub const GLYPH_H: usize = 7;

/// Characters the font can print, in the order of [`GLYPHS`].
pub const CHARSET: [char; 11] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '/'];

/// Glyph bitmaps for [`CHARSET`], one `u8` per row, top row first.
#[rustfmt::skip]
pub const GLYPHS: [[u8; GLYPH_H]; 11] = [
    [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110], // 0
    [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110], // 1
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111], // 2
    [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110], // 3
    [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010], // 4
    [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110], // 5
    [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110], // 6
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000], // 7
    [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110], // 8
    [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100], // 9
    [0b00001, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b10000], // /
];

/// The bitmap of `c`, or `None` when the font has no such glyph.
pub fn glyph(c: char) -> Option<&'static [u8; GLYPH_H]> {
    CHARSET.iter().position(|&k| k == c).map(|i| &GLYPHS[i])
}

/// Whether dot `(col, row)` of glyph `g` is inked.
#[inline]
pub fn dot(g: &[u8; GLYPH_H], col: usize, row: usize) -> bool {
    col < GLYPH_W && row < GLYPH_H && (g[row] >> (GLYPH_W - 1 - col)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_are_distinct_and_fit() {
        for (i, a) in GLYPHS.iter().enumerate() {
            assert!(a.iter().all(|r| *r < (1 << GLYPH_W)));
            for b in &GLYPHS[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(glyph('B').is_none());
        assert!(dot(glyph('1').unwrap(), 2, 0));
    }
}
