//! How a payload is cut into shards, protected by Reed-Solomon parity, and spread over parts.
//!
//! The payload is a sequence of rows. A row is `data` data shards of `shard` bytes (the next
//! `data × shard` payload bytes, the last row padded with zeros) followed by `parity`
//! Reed-Solomon recovery shards computed from them. Its `data + parity` shards are its
//! columns; column `c` lives in part `c mod parts`, slot `c div parts`, so every part holds
//! the same number of columns (`cpp`) of every row. Within a part, shards are stored row by
//! row: slot `j` of row `r` is at `HEADER_LEN + (r × cpp + j) × shard`.
//!
//! A row is recoverable while at most `parity` of its shards are lost or damaged (a damaged
//! shard is found by its BLAKE3 digest in the manifest and treated as lost). Losing a whole part
//! costs `cpp` shards of every row, so `plan` picks enough parts that `cpp <= parity`: with
//! 10 % parity a bundle has at least 11 parts, and any one of them may be lost.

use crate::format::HEADER_LEN;

/// The digest of one shard, as listed in the signed manifest. BLAKE3 rather than SHA-256:
/// every packed byte (and every parity byte) is hashed here, and BLAKE3 is several times
/// faster while keeping the 256-bit collision resistance the manifest's signature relies on.
pub fn shard_digest(shard: &[u8]) -> [u8; 32] {
    *blake3::hash(shard).as_bytes()
}

pub const SHARD_MIN: u64 = 64;
/// Larger shards mean fewer hashes in the manifest; this keeps a row in a few tens of MB.
pub const SHARD_MAX: u64 = 256 << 10;
/// Columns per row we aim for: fine-grained enough that scattered damage spreads over rows.
const TARGET_COLUMNS: u64 = 110;
pub const MAX_PARTS: u32 = 10_000;
/// Small parity budgets would need very many parts to survive the loss of one; cap it.
const MAX_MIN_PARTS: u64 = 32;
/// Below this a part is mostly manifest.
pub const MIN_PART_SIZE: u64 = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub parts: u32,
    /// Data shards per row.
    pub data: u32,
    /// Parity shards per row.
    pub parity: u32,
    /// Bytes per shard.
    pub shard: u64,
}

impl Layout {
    pub fn columns(&self) -> u32 {
        self.data + self.parity
    }

    /// Columns (shards of each row) per part.
    pub fn cpp(&self) -> u32 {
        self.columns() / self.parts
    }

    pub fn row_payload(&self) -> u64 {
        self.data as u64 * self.shard
    }

    pub fn rows_for(&self, payload: u64) -> u64 {
        payload.div_ceil(self.row_payload()).max(1)
    }

    pub fn part_data_len(&self, rows: u64) -> u64 {
        rows * self.cpp() as u64 * self.shard
    }

    /// Part and file offset of column `col` of row `row`.
    pub fn locate(&self, row: u64, col: u32) -> (usize, u64) {
        let part = (col % self.parts) as usize;
        let slot = (col / self.parts) as u64;
        let offset = HEADER_LEN + (row * self.cpp() as u64 + slot) * self.shard;
        (part, offset)
    }

    /// Whole parts that may be lost with every row still recoverable.
    pub fn parts_tolerated(&self) -> u32 {
        self.parity / self.cpp()
    }

    pub fn check(&self) -> Result<(), String> {
        if self.parts == 0 || self.parts > MAX_PARTS {
            return Err(format!("bad part count {}", self.parts));
        }
        if self.data == 0 || !self.columns().is_multiple_of(self.parts) {
            return Err("shard columns do not divide among the parts".into());
        }
        if self.shard < SHARD_MIN || self.shard > 16 << 20 || !self.shard.is_multiple_of(64) {
            return Err(format!("bad shard size {}", self.shard));
        }
        if self.parity > 0
            && !reed_solomon_simd::ReedSolomonEncoder::supports(
                self.data as usize,
                self.parity as usize,
            )
        {
            return Err("unsupported Reed-Solomon parameters".into());
        }
        Ok(())
    }

    /// Choose a layout for a payload of at most `payload_max` bytes, with `parity_percent`
    /// parity (recovery bytes as a share of data bytes), in parts of at most `part_size`.
    pub fn plan(payload_max: u64, parity_percent: u32, part_size: u64) -> Result<Layout, String> {
        if parity_percent > 100 {
            return Err("--parity must be between 0 and 100 (percent)".into());
        }
        if part_size < MIN_PART_SIZE {
            return Err(format!(
                "--part-size must be at least {} KiB",
                MIN_PART_SIZE >> 10
            ));
        }
        let p = parity_percent as u64;
        let min_parts = if p == 0 {
            1
        } else {
            (100 + p).div_ceil(p).min(MAX_MIN_PARTS)
        };
        let mut parts = min_parts;
        loop {
            let cpp = TARGET_COLUMNS.div_ceil(parts).max(1);
            let cols = cpp * parts;
            let parity = if p == 0 {
                0
            } else {
                (cols * p).div_ceil(100 + p).clamp(1, cols - 1)
            };
            let data = cols - parity;
            let shard = payload_max
                .div_ceil(data)
                .next_multiple_of(64)
                .clamp(SHARD_MIN, SHARD_MAX);
            let rows = payload_max.div_ceil(data * shard).max(1);
            let manifest = 2048 + parts * 64 + rows * cols * 44;
            let size = HEADER_LEN + rows * cpp * shard + manifest + crate::format::TRAILER_LEN;
            if size <= part_size {
                let layout = Layout {
                    parts: parts as u32,
                    data: data as u32,
                    parity: parity as u32,
                    shard,
                };
                layout.check()?;
                return Ok(layout);
            }
            if parts >= MAX_PARTS as u64 {
                return Err(format!(
                    "the bundle would need more than {MAX_PARTS} parts; use a larger --part-size"
                ));
            }
            parts = (parts + 1)
                .max((parts as u128 * size as u128).div_ceil(part_size as u128) as u64)
                .min(MAX_PARTS as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_survives_one_lost_part() {
        for payload in [100, 10_000, 5_000_000, 3_000_000_000] {
            let l = Layout::plan(payload, 10, 4_000_000_000).unwrap();
            assert!(l.parts >= 11, "{l:?}");
            assert!(l.parts_tolerated() >= 1, "{l:?}");
            assert!(l.parity * 10 >= l.data, "{l:?}");
            let rows = l.rows_for(payload);
            assert!(rows * l.row_payload() >= payload);
        }
    }

    #[test]
    fn parts_respect_the_size_limit() {
        let payload = 50_000_000;
        let l = Layout::plan(payload, 10, 1_000_000).unwrap();
        let rows = l.rows_for(payload);
        assert!(l.part_data_len(rows) < 1_000_000, "{l:?}");
        assert!(l.parts >= 55);
    }

    #[test]
    fn no_parity() {
        let l = Layout::plan(1000, 0, 4_000_000_000).unwrap();
        assert_eq!(l.parity, 0);
        assert_eq!(l.parts, 1);
    }
}
