//! Ante-mortem / post-mortem matching: which cases (bodies) might be the person of a
//! family's record, best first, each with its reasons.
//!
//! Every signal is a [`Scorer`]: it looks at one record and one case and returns a
//! [`Reason`] with a weight (positive for support, negative against) or nothing when it has
//! nothing to say. A case's score is the sum of its reasons' weights. The built-in scorers
//! ([`Matcher::standard`]) cover the branch, dates, sex, age, distinguishing marks and known
//! numbers; another signal (face similarity) is one more `Scorer` in the list.
//!
//! Reasons carry a message id and arguments, not prose, so the portal can translate them:
//! `branch-match { branch }`, `documented-before-arrest { arrest, documented }` …
//!
//! Speed: the cases are read once into a compact in-memory [`CaseTable`] (cached per
//! catalogue and log position, so a long-running portal reads it again only after the log
//! grew); a record is then scored against every case in a single pass.

pub mod eval;
pub mod marks;
pub mod names;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::observations::Observations;
use crate::records::{fold_number, parse_partial_date, MissingPerson, Sex};
use crate::{Catalog, Result, SqliteCatalog};

/// What a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    Branch,
    Dates,
    Sex,
    Age,
    Marks,
    Number,
    Name,
    Face,
}

/// A translatable message: a Fluent-style id and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub code: String,
    pub args: BTreeMap<String, String>,
}

impl Detail {
    pub fn new(code: &str, args: &[(&str, String)]) -> Detail {
        Detail {
            code: code.to_string(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub signal: Signal,
    /// Added to the score: positive supports the match, negative speaks against it.
    pub weight: f64,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub case_id: String,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// A day number (days since 1970-01-01, proleptic Gregorian).
pub type Day = i32;

pub fn day_number(y: i32, m: u32, d: u32) -> Day {
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first and last day a partial date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or the date part of
/// a time) can mean.
pub fn day_span(s: &str) -> Option<(Day, Day)> {
    let (y, m, d) = parse_partial_date(s)?;
    Some(match (m, d) {
        (0, _) => (day_number(y, 1, 1), day_number(y, 12, 31)),
        (m, 0) => {
            let next = if m == 12 {
                day_number(y + 1, 1, 1)
            } else {
                day_number(y, m + 1, 1)
            };
            (day_number(y, m, 1), next - 1)
        }
        (m, d) => (day_number(y, m, d), day_number(y, m, d)),
    })
}

/// A mark as a weighted set of terms (see [`marks::terms`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MarkTerms {
    pub text: String,
    pub terms: Vec<u32>,
}

/// A case as matching sees it: the few fields the scorers read, in compact form.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub id: String,
    pub status: String,
    pub branch: Option<String>,
    pub detainee: Option<String>,
    pub report: Option<String>,
    /// The day the body was documented (first photo).
    pub documented: Option<Day>,
    pub documented_text: Option<String>,
    pub sex: Option<Sex>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub marks: Vec<MarkTerms>,
}

/// Every case, read once, with the term dictionary and term weights the mark scorer uses.
#[derive(Debug, Default)]
pub struct CaseTable {
    pub cases: Vec<CaseFacts>,
    terms: HashMap<String, u32>,
    /// Inverse document frequency of each term id: rare words tell more.
    idf: Vec<f64>,
}

impl CaseTable {
    /// Build from case rows and their observations.
    pub fn build(rows: Vec<(crate::CaseRow, Option<Observations>)>) -> CaseTable {
        let mut t = CaseTable::default();
        let mut df: Vec<u32> = Vec::new();
        for (row, obs) in rows {
            let obs = obs.unwrap_or_default();
            let mut marks = Vec::new();
            let mut seen: Vec<u32> = Vec::new();
            for m in &obs.marks {
                let ids: Vec<u32> = marks::terms(m)
                    .into_iter()
                    .map(|term| {
                        let next = t.terms.len() as u32;
                        let id = *t.terms.entry(term).or_insert(next);
                        if id as usize >= df.len() {
                            df.resize(id as usize + 1, 0);
                        }
                        id
                    })
                    .collect();
                for &id in &ids {
                    if !seen.contains(&id) {
                        seen.push(id);
                        df[id as usize] += 1;
                    }
                }
                marks.push(MarkTerms {
                    text: m.clone(),
                    terms: ids,
                });
            }
            let documented_text = row.first_taken.as_deref().map(|t| t[..10.min(t.len())].to_string());
            t.cases.push(CaseFacts {
                documented: row.first_taken.as_deref().and_then(day_span).map(|s| s.0),
                documented_text,
                id: row.id,
                status: row.status,
                branch: row.branch.as_deref().map(fold_number).filter(|b| !b.is_empty()).or(row.branch),
                detainee: row.detainee.as_deref().map(fold_number),
                report: row.report.as_deref().map(fold_number),
                sex: obs.sex,
                age_min: obs.age_min,
                age_max: obs.age_max,
                marks,
            });
        }
        let n = t.cases.len().max(1) as f64;
        t.idf = df
            .iter()
            .map(|&d| (1.0 + n / (d.max(1) as f64)).ln())
            .collect();
        t
    }

    /// Read every case of the catalogue.
    pub fn load(cat: &SqliteCatalog) -> Result<CaseTable> {
        Ok(CaseTable::build(cat.match_rows()?))
    }

    /// Term ids of a mark written in a record; terms no case has are left out (they cannot
    /// match), but still count in the mark's total weight.
    fn query_mark(&self, text: &str) -> (MarkTerms, f64) {
        let mut ids = Vec::new();
        let mut unknown = 0.0;
        let rare = (1.0 + self.cases.len().max(1) as f64).ln();
        for term in marks::terms(text) {
            match self.terms.get(&term) {
                Some(&id) => ids.push(id),
                None => unknown += rare,
            }
        }
        (
            MarkTerms {
                text: text.to_string(),
                terms: ids,
            },
            unknown,
        )
    }

    fn weight(&self, ids: &[u32]) -> f64 {
        ids.iter().map(|&i| self.idf[i as usize]).sum()
    }
}

/// A record prepared once for scoring against many cases.
#[derive(Debug, Clone)]
pub struct Query {
    pub branch: Option<String>,
    pub arrest: Option<(Day, Day)>,
    pub arrest_text: Option<String>,
    pub birth: Option<(Day, Day)>,
    pub age_at_arrest: Option<u32>,
    pub sex: Option<Sex>,
    pub numbers: Vec<String>,
    /// Each mark with its terms and the weight of its terms that no case has.
    pub marks: Vec<(MarkTerms, f64)>,
}

impl Query {
    pub fn new(r: &MissingPerson, table: &CaseTable) -> Query {
        Query {
            branch: r.branch_ascii(),
            arrest: r.arrest_date.as_deref().and_then(day_span),
            arrest_text: r.arrest_date.clone(),
            birth: r.birth_date.as_deref().and_then(day_span),
            age_at_arrest: r.age_at_arrest,
            sex: r.sex,
            numbers: r.numbers_ascii(),
            marks: r
                .marks
                .iter()
                .filter(|m| !m.trim().is_empty())
                .map(|m| table.query_mark(m))
                .collect(),
        }
    }

    /// The person's estimated age on `day`, as a range of years.
    fn age_on(&self, day: Day) -> Option<(f64, f64)> {
        const YEAR: f64 = 365.2425;
        if let Some((b0, b1)) = self.birth {
            return Some((
                ((day - b1) as f64 / YEAR).max(0.0),
                ((day - b0) as f64 / YEAR).max(0.0),
            ));
        }
        let a = self.age_at_arrest? as f64;
        let since = match self.arrest {
            Some((a0, a1)) => (((day - a1) as f64 / YEAR).max(0.0), ((day - a0) as f64 / YEAR).max(0.0)),
            None => (0.0, 0.0),
        };
        Some((a + since.0, a + 1.0 + since.1))
    }
}

/// One signal. Implementations must be cheap: `score` runs once per case for every query.
pub trait Scorer: Send + Sync {
    fn signal(&self) -> Signal;
    /// Reasons this case does or does not fit the record (empty: nothing to say).
    fn score(&self, q: &Query, c: &CaseFacts, table: &CaseTable, out: &mut Vec<Reason>);
}

fn reason(signal: Signal, weight: f64, code: &str, args: &[(&str, String)]) -> Reason {
    Reason {
        signal,
        weight,
        detail: Detail::new(code, args),
    }
}

/// The branch the family believes held the person.
pub struct BranchScorer;
impl Scorer for BranchScorer {
    fn signal(&self) -> Signal {
        Signal::Branch
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Vec<Reason>) {
        let (Some(want), Some(have)) = (&q.branch, &c.branch) else {
            return;
        };
        if want == have {
            out.push(reason(Signal::Branch, 2.0, "branch-match", &[("branch", have.clone())]));
        } else {
            // Families are often told the wrong branch, and detainees moved between them.
            out.push(reason(
                Signal::Branch,
                -1.0,
                "branch-differs",
                &[("record", want.clone()), ("case", have.clone())],
            ));
        }
    }
}

/// A body documented before the arrest cannot be the person; one documented soon after is
/// likelier than one documented years later.
pub struct DatesScorer;
impl Scorer for DatesScorer {
    fn signal(&self) -> Signal {
        Signal::Dates
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Vec<Reason>) {
        let (Some((first, last)), Some(doc)) = (q.arrest, c.documented) else {
            return;
        };
        let args = || {
            vec![
                ("arrest", q.arrest_text.clone().unwrap_or_default()),
                ("documented", c.documented_text.clone().unwrap_or_default()),
            ]
        };
        if doc < first {
            out.push(reason(Signal::Dates, -8.0, "documented-before-arrest", &args()));
            return;
        }
        let days = (doc - last).max(0);
        let w = if days <= 365 {
            1.5
        } else if days <= 3 * 365 {
            1.0
        } else {
            0.3
        };
        let mut a = args();
        a.push(("days", days.to_string()));
        out.push(reason(Signal::Dates, w, "documented-after-arrest", &a));
    }
}

pub struct SexScorer;
impl Scorer for SexScorer {
    fn signal(&self) -> Signal {
        Signal::Sex
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Vec<Reason>) {
        let (Some(want), Some(have)) = (q.sex, c.sex) else {
            return;
        };
        if want == have {
            out.push(reason(Signal::Sex, 0.5, "sex-match", &[("sex", have.as_str().into())]));
        } else {
            out.push(reason(
                Signal::Sex,
                -6.0,
                "sex-differs",
                &[("record", want.as_str().into()), ("case", have.as_str().into())],
            ));
        }
    }
}

/// The person's age when the body was documented against the investigator's estimate.
pub struct AgeScorer;
impl Scorer for AgeScorer {
    fn signal(&self) -> Signal {
        Signal::Age
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Vec<Reason>) {
        let (Some(doc), Some(min), Some(max)) = (c.documented, c.age_min, c.age_max) else {
            return;
        };
        let Some((lo, hi)) = q.age_on(doc) else {
            return;
        };
        let (min, max) = (min as f64, max as f64 + 1.0);
        let gap = if hi < min {
            min - hi
        } else if lo > max {
            lo - max
        } else {
            0.0
        };
        let args = [
            ("age", format!("{:.0}", (lo + hi) / 2.0)),
            ("min", format!("{min:.0}")),
            ("max", format!("{:.0}", max - 1.0)),
        ];
        if gap == 0.0 {
            out.push(reason(Signal::Age, 1.5, "age-in-range", &args));
        } else if gap <= 3.0 {
            out.push(reason(Signal::Age, 0.5, "age-near-range", &args));
        } else {
            out.push(reason(Signal::Age, -(gap * 0.4).min(4.0), "age-outside-range", &args));
        }
    }
}

/// Each mark the family describes against the marks observed on the body, by the weighted
/// overlap of their terms (rare terms weigh more).
pub struct MarksScorer;
impl Scorer for MarksScorer {
    fn signal(&self) -> Signal {
        Signal::Marks
    }
    fn score(&self, q: &Query, c: &CaseFacts, table: &CaseTable, out: &mut Vec<Reason>) {
        if q.marks.is_empty() || c.marks.is_empty() {
            return;
        }
        let mut matched = false;
        for (qm, unknown) in &q.marks {
            let qw = table.weight(&qm.terms) + unknown;
            if qw == 0.0 {
                continue;
            }
            let mut best: Option<(f64, &MarkTerms)> = None;
            for cm in &c.marks {
                let shared: f64 = qm
                    .terms
                    .iter()
                    .filter(|t| cm.terms.contains(t))
                    .map(|&t| table.idf[t as usize])
                    .sum();
                if shared == 0.0 {
                    continue;
                }
                let dice = 2.0 * shared / (qw + table.weight(&cm.terms));
                if best.is_none_or(|(b, _)| dice > b) {
                    best = Some((dice, cm));
                }
            }
            if let Some((sim, cm)) = best.filter(|(s, _)| *s >= 0.45) {
                matched = true;
                out.push(reason(
                    Signal::Marks,
                    6.0 * sim,
                    "mark-match",
                    &[
                        ("record", qm.text.clone()),
                        ("case", cm.text.clone()),
                        ("similarity", format!("{sim:.2}")),
                    ],
                ));
            }
        }
        if !matched {
            // Marks may be hidden by injuries or decay, so this speaks only a little against.
            out.push(reason(Signal::Marks, -0.5, "marks-differ", &[]));
        }
    }
}

/// A detainee or report number the family knows, on the body's label.
pub struct NumberScorer;
impl Scorer for NumberScorer {
    fn signal(&self) -> Signal {
        Signal::Number
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Vec<Reason>) {
        for n in &q.numbers {
            for (field, have) in [("detainee", &c.detainee), ("report", &c.report)] {
                if have.as_deref() == Some(n.as_str()) {
                    let w = if field == "detainee" && c.branch.is_some() && q.branch.is_some() && c.branch != q.branch {
                        // The same detainee number recurs across branches.
                        3.0
                    } else {
                        10.0
                    };
                    out.push(reason(
                        Signal::Number,
                        w,
                        "number-match",
                        &[("number", n.clone()), ("field", field.into())],
                    ));
                }
            }
        }
    }
}

/// A list of scorers, and ranking with them.
pub struct Matcher {
    scorers: Vec<Box<dyn Scorer>>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher::standard()
    }
}

impl Matcher {
    /// Branch, dates, sex, age, marks and numbers.
    pub fn standard() -> Matcher {
        Matcher {
            scorers: vec![
                Box::new(NumberScorer),
                Box::new(BranchScorer),
                Box::new(DatesScorer),
                Box::new(SexScorer),
                Box::new(AgeScorer),
                Box::new(MarksScorer),
            ],
        }
    }

    pub fn empty() -> Matcher {
        Matcher {
            scorers: Vec::new(),
        }
    }

    /// Add a signal (face similarity, …).
    pub fn with(mut self, scorer: Box<dyn Scorer>) -> Matcher {
        self.scorers.push(scorer);
        self
    }

    pub fn signals(&self) -> Vec<Signal> {
        self.scorers.iter().map(|s| s.signal()).collect()
    }

    /// Score one case.
    pub fn candidate(&self, q: &Query, c: &CaseFacts, table: &CaseTable) -> Candidate {
        let mut reasons = Vec::new();
        for s in &self.scorers {
            s.score(q, c, table, &mut reasons);
        }
        Candidate {
            case_id: c.id.clone(),
            score: reasons.iter().map(|r| r.weight).sum(),
            reasons,
        }
    }

    /// The `limit` best cases for a record, best first (ties by case id). Cases with nothing
    /// in favour (score ≤ 0) are left out.
    pub fn rank_table(&self, table: &CaseTable, r: &MissingPerson, limit: usize) -> Vec<Candidate> {
        let q = Query::new(r, table);
        let mut reasons = Vec::new();
        // Keep the best `limit` (score, index) in a small sorted buffer; build the full
        // candidate (with owned reasons) only for those.
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(limit + 1);
        for (i, c) in table.cases.iter().enumerate() {
            if matches!(c.status.as_str(), "identified" | "family informed") {
                continue;
            }
            reasons.clear();
            for s in &self.scorers {
                s.score(&q, c, table, &mut reasons);
            }
            let score: f64 = reasons.iter().map(|r| r.weight).sum();
            if score <= 0.0 {
                continue;
            }
            if best.len() == limit && best.last().is_some_and(|(s, _)| score <= *s) {
                continue;
            }
            let at = best.partition_point(|(s, j)| *s > score || (*s == score && table.cases[*j].id < c.id));
            best.insert(at, (score, i));
            best.truncate(limit);
        }
        best.into_iter()
            .map(|(_, i)| self.candidate(&q, &table.cases[i], table))
            .collect()
    }

    /// Rank against the catalogue's cases (read through the shared cache).
    pub fn rank(&self, cat: &SqliteCatalog, r: &MissingPerson, limit: usize) -> Result<Vec<Candidate>> {
        let table = cached_table(cat)?;
        Ok(self.rank_table(&table, r, limit))
    }
}

/// The `limit` best cases for a record, with the standard signals. Identified cases are
/// left out.
pub fn rank(cat: &SqliteCatalog, r: &MissingPerson, limit: usize) -> Result<Vec<Candidate>> {
    Matcher::standard().rank(cat, r, limit)
}

type CacheKey = (PathBuf, u64, [u8; 32]);
static CACHE: Mutex<Option<(CacheKey, Arc<CaseTable>)>> = Mutex::new(None);

/// The case table of this catalogue at its current log position: read once, then shared
/// until the log grows (every change to cases is a log event, so the position says when the
/// table is stale).
pub fn cached_table(cat: &SqliteCatalog) -> Result<Arc<CaseTable>> {
    let key: CacheKey = (
        PathBuf::from(cat.conn().path().unwrap_or_default()),
        cat.last_seq()?,
        cat.last_leaf()?,
    );
    if let Some((k, t)) = CACHE.lock().expect("cache lock").as_ref() {
        if *k == key {
            return Ok(t.clone());
        }
    }
    let table = Arc::new(CaseTable::load(cat)?);
    *CACHE.lock().expect("cache lock") = Some((key, table.clone()));
    Ok(table)
}

impl SqliteCatalog {
    /// Every case with its observations, for matching.
    pub(crate) fn match_rows(&self) -> Result<Vec<(crate::CaseRow, Option<Observations>)>> {
        use crate::Photos;
        let rows = self.cases(&crate::CaseFilter::default())?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let obs = r.observations.take();
                (r, obs)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_and_spans() {
        assert_eq!(day_number(1970, 1, 1), 0);
        assert_eq!(day_number(2012, 3, 1) - day_number(2012, 2, 28), 2);
        assert_eq!(day_span("2012"), Some((day_number(2012, 1, 1), day_number(2012, 12, 31))));
        assert_eq!(day_span("2012-02"), Some((day_number(2012, 2, 1), day_number(2012, 2, 29))));
        assert_eq!(day_span("٢٠١٢-٠٥-٠٣").map(|s| s.0), Some(day_number(2012, 5, 3)));
        assert_eq!(day_span("2012-05-03T10:11:12").map(|s| s.0), Some(day_number(2012, 5, 3)));
        assert_eq!(day_span("May 2012"), None);
    }
}
