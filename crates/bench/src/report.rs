//! The results as markdown: machine facts, throughput tables, ratios against the goals, memory.

use std::fmt::Write;

use crate::measure::{median, ratio, Samples};

/// One contender's line in a throughput table.
pub struct Row {
    /// What [`Goal`]s refer to it by.
    pub key: &'static str,
    pub name: String,
    pub threads: &'static str,
    pub samples: Samples,
}

/// A throughput comparison: the median of row `key` over that of row `against` must reach
/// `goal`.
pub struct Goal {
    pub what: &'static str,
    pub key: &'static str,
    pub against: &'static str,
    pub goal: f64,
}

pub struct Table {
    pub title: String,
    pub rows: Vec<Row>,
    pub goals: Vec<Goal>,
    /// Bytes each run processes (the collection's plaintext size).
    pub bytes: u64,
}

/// Peak RSS of one athar command on each collection size of [`Rss::sizes`].
pub struct RssSeries {
    pub command: String,
    /// The scrypt work factor the vault was created with, as shown.
    pub scrypt: String,
    pub kib: Vec<Option<u64>>,
}

/// The scrypt work factor (log2 N) of the vaults whose memory is not dominated by scrypt.
pub const LIGHT_SCRYPT_LOG_N: u8 = 10;

pub struct Rss {
    /// Photos and bytes of each collection.
    pub sizes: Vec<(usize, u64)>,
    pub series: Vec<RssSeries>,
}

pub struct Report {
    pub command: String,
    pub date: String,
    pub facts: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub tables: Vec<Table>,
    pub rss: Rss,
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".into(), |x| format!("{x:.digits$}"))
}

impl Table {
    fn median_of(&self, key: &str) -> Option<f64> {
        let row = self.rows.iter().find(|r| r.key == key)?;
        row.samples.median_mbps(self.bytes)
    }

    /// Each goal with its measured ratio of medians.
    pub fn ratios(&self) -> Vec<(&Goal, Option<f64>)> {
        self.goals
            .iter()
            .map(|g| (g, ratio(self.median_of(g.key), self.median_of(g.against))))
            .collect()
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Command: `{}`  \nDate: {}\n", self.command, self.date);
        for (k, v) in &self.facts {
            let _ = writeln!(s, "- {k}: {v}");
        }
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        for t in &self.tables {
            self.table(&mut s, t);
        }
        self.memory(&mut s);
        s
    }

    fn table(&self, s: &mut String, t: &Table) {
        let _ = writeln!(s, "\n#### {}\n", t.title);
        let _ = writeln!(
            s,
            "| Contender | Threads | Median MB/s | Min–max MB/s | Median time | Cores busy | Peak RSS |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
        for r in &t.rows {
            let mbps = r.samples.mbps(t.bytes);
            let (lo, hi) = mbps.iter().fold((f64::INFINITY, 0f64), |(lo, hi), x| {
                (lo.min(*x), hi.max(*x))
            });
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0}–{:.0} | {} s | {} | {} |",
                r.name,
                r.threads,
                num(median(&mbps), 0),
                lo,
                hi,
                num(r.samples.median_secs(), 2),
                num(r.samples.median_cores(), 2),
                mib(r.samples.max_rss_kib)
            );
        }
        let _ = writeln!(s);
        for (g, got) in t.ratios() {
            let verdict = match got {
                Some(x) if x >= g.goal => "met",
                Some(_) => "**missed**",
                None => "unknown",
            };
            let _ = writeln!(
                s,
                "- {}: {}× (goal ≥ {}×: {verdict})",
                g.what,
                num(got, 2),
                g.goal
            );
        }
    }

    fn memory(&self, s: &mut String) {
        let rss = &self.rss;
        if rss.sizes.is_empty() {
            return;
        }
        let _ = writeln!(s, "\n#### Peak RSS as the collection grows\n");
        let _ = write!(s, "| Command | scrypt work factor |");
        for (photos, bytes) in &rss.sizes {
            let _ = write!(s, " {photos} photos, {:.0} MB |", *bytes as f64 / 1e6);
        }
        let _ = writeln!(s, " Last / first |");
        let _ = writeln!(s, "|---|---|{}---:|", "---:|".repeat(rss.sizes.len()));
        for series in &rss.series {
            let _ = write!(s, "| {} | {} |", series.command, series.scrypt);
            for kib in &series.kib {
                let _ = write!(s, " {} |", mib(*kib));
            }
            let as_f64 = |k: Option<&Option<u64>>| k.copied().flatten().map(|k| k as f64);
            let growth = ratio(as_f64(series.kib.last()), as_f64(series.kib.first()));
            let _ = writeln!(s, " {}× |", num(growth, 2));
        }
        if let (Some(a), Some(b)) = (rss.sizes.first(), rss.sizes.last()) {
            let _ = writeln!(
                s,
                "\nThe data grows {:.1}×. The default scrypt unlock (N = 2^18, r = 8) alone needs \
                 256 MiB, which hides everything else; vaults made with 2^{LIGHT_SCRYPT_LOG_N} show \
                 the memory of the work itself.",
                b.1 as f64 / a.1 as f64
            );
        }
    }
}
