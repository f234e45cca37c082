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
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::observations::Observations;
use crate::records::{fold_number, parse_partial_date, MissingPerson, Sex};
use crate::{Catalog, Result, SqlCatalog};

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
    pub fn new(code: &str, args: &[(&'static str, String)]) -> Detail {
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

/// A mark observed on a body: its terms (a range of the table's term list) and their weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkRef {
    start: u32,
    end: u32,
    /// Sum of the terms' weights.
    pub weight: f32,
    text: u32,
}

const NO_BRANCH: u32 = u32::MAX;
/// A branch the record names that no case has.
const OTHER_BRANCH: u32 = u32::MAX - 1;

/// A case as matching sees it: small and of fixed size, so a scan of every case stays in the
/// processor's cache. The texts reasons quote are in [`CaseTable::text`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseFacts {
    pub index: u32,
    /// Not identified yet: identified cases are not offered.
    pub open: bool,
    branch: u32,
    /// Hashes of the folded detainee and report numbers (0: none).
    detainee: u64,
    report: u64,
    /// The day the body was documented (first photo).
    pub documented: Option<Day>,
    pub sex: Option<Sex>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    marks: (u32, u32),
}

/// A case's texts, for reasons and output.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseText {
    pub id: String,
    pub status: String,
    pub branch: Option<String>,
    pub detainee: Option<String>,
    pub report: Option<String>,
    /// `YYYY-MM-DD`.
    pub documented: Option<String>,
}

/// Every case, read once: compact facts, their texts, the marks' terms and the terms' weights.
#[derive(Debug, Default)]
pub struct CaseTable {
    pub cases: Vec<CaseFacts>,
    pub text: Vec<CaseText>,
    marks: Vec<MarkRef>,
    mark_terms: Vec<u32>,
    mark_texts: Vec<String>,
    branches: HashMap<String, u32>,
    terms: HashMap<String, u32>,
    /// Inverse document frequency of each term id: rare words tell more.
    idf: Vec<f32>,
}

/// FNV-1a, never 0 (0 means "no number").
fn number_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(1)
}

impl CaseTable {
    /// Build from case rows and their observations.
    pub fn build(rows: Vec<(crate::CaseRow, Option<Observations>)>) -> CaseTable {
        let mut t = CaseTable::default();
        let mut df: Vec<u32> = Vec::new();
        // Investigators write the same phrases again and again: analyse each once.
        let mut analysed: HashMap<String, Vec<u32>> = HashMap::new();
        for (row, obs) in rows {
            let obs = obs.unwrap_or_default();
            let first_mark = t.marks.len() as u32;
            let mut seen: Vec<u32> = Vec::new();
            for m in &obs.marks {
                let start = t.mark_terms.len() as u32;
                if !analysed.contains_key(m) {
                    let ids = marks::terms(m)
                        .into_iter()
                        .map(|term| {
                            let next = t.terms.len() as u32;
                            *t.terms.entry(term).or_insert(next)
                        })
                        .collect();
                    analysed.insert(m.clone(), ids);
                }
                for &id in &analysed[m] {
                    if id as usize >= df.len() {
                        df.resize(id as usize + 1, 0);
                    }
                    if !seen.contains(&id) {
                        seen.push(id);
                        df[id as usize] += 1;
                    }
                    t.mark_terms.push(id);
                }
                t.marks.push(MarkRef {
                    start,
                    end: t.mark_terms.len() as u32,
                    weight: 0.0,
                    text: t.mark_texts.len() as u32,
                });
                t.mark_texts.push(m.clone());
            }
            let branch = row
                .branch
                .as_deref()
                .map(fold_branch)
                .filter(|b| !b.is_empty());
            let branch_id = match &branch {
                Some(b) => {
                    let next = t.branches.len() as u32;
                    *t.branches.entry(b.clone()).or_insert(next)
                }
                None => NO_BRANCH,
            };
            let detainee = row.detainee.as_deref().map(fold_number);
            let report = row.report.as_deref().map(fold_number);
            t.cases.push(CaseFacts {
                index: t.cases.len() as u32,
                open: !matches!(row.status.as_str(), "identified" | "family informed"),
                branch: branch_id,
                detainee: detainee.as_deref().map_or(0, number_hash),
                report: report.as_deref().map_or(0, number_hash),
                documented: row.first_taken.as_deref().and_then(day_span).map(|s| s.0),
                sex: obs.sex,
                age_min: obs.age_min,
                age_max: obs.age_max,
                marks: (first_mark, t.marks.len() as u32),
            });
            t.text.push(CaseText {
                documented: row
                    .first_taken
                    .as_deref()
                    .map(|d| d[..10.min(d.len())].to_string()),
                id: row.id,
                status: row.status,
                branch,
                detainee,
                report,
            });
        }
        let n = t.cases.len().max(1) as f64;
        t.idf = df
            .iter()
            .map(|&d| (1.0 + n / (d.max(1) as f64)).ln() as f32)
            .collect();
        for i in 0..t.marks.len() {
            let m = t.marks[i];
            t.marks[i].weight = t.mark_terms[m.start as usize..m.end as usize]
                .iter()
                .map(|&id| t.idf[id as usize])
                .sum();
        }
        t
    }

    /// Read every case of the catalogue.
    pub fn load(cat: &SqlCatalog) -> Result<CaseTable> {
        Ok(CaseTable::build(cat.match_rows()?))
    }

    pub fn id(&self, c: &CaseFacts) -> &str {
        &self.text[c.index as usize].id
    }

    pub fn text(&self, c: &CaseFacts) -> &CaseText {
        &self.text[c.index as usize]
    }

    /// The case with this id.
    pub fn find(&self, id: &str) -> Option<&CaseFacts> {
        self.text
            .iter()
            .position(|t| t.id == id)
            .map(|i| &self.cases[i])
    }

    /// The marks observed on a case.
    pub fn marks(&self, c: &CaseFacts) -> &[MarkRef] {
        &self.marks[c.marks.0 as usize..c.marks.1 as usize]
    }

    pub fn terms_of(&self, m: &MarkRef) -> &[u32] {
        &self.mark_terms[m.start as usize..m.end as usize]
    }

    pub fn mark_text(&self, m: &MarkRef) -> &str {
        &self.mark_texts[m.text as usize]
    }

    /// A mark written in a record, as terms of this table. Terms no case has cannot match,
    /// but still count in the mark's weight (as the rarest terms).
    fn query_mark(&self, text: &str) -> QueryMark {
        let rare = (1.0 + self.cases.len().max(1) as f64).ln() as f32;
        let mut terms = Vec::new();
        let mut weight = 0.0;
        for term in marks::terms(text) {
            match self.terms.get(&term) {
                Some(&id) => {
                    terms.push(id);
                    weight += self.idf[id as usize];
                }
                None => weight += rare,
            }
        }
        QueryMark {
            text: text.to_string(),
            terms,
            weight,
        }
    }
}

/// Branch numbers as written on labels and typed by families: digits folded, names upper.
fn fold_branch(b: &str) -> String {
    let digits = fold_number(b);
    if digits.is_empty() {
        b.trim().to_uppercase()
    } else {
        digits
    }
}

/// A mark from a record, as terms of the case table.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryMark {
    pub text: String,
    pub terms: Vec<u32>,
    pub weight: f32,
}

/// A record prepared once for scoring against many cases.
#[derive(Debug, Clone)]
pub struct Query {
    branch: Option<u32>,
    pub branch_text: Option<String>,
    pub arrest: Option<(Day, Day)>,
    pub arrest_text: Option<String>,
    pub birth: Option<(Day, Day)>,
    pub age_at_arrest: Option<u32>,
    pub sex: Option<Sex>,
    /// (hash, folded text) of each known number.
    numbers: Vec<(u64, String)>,
    pub marks: Vec<QueryMark>,
}

impl Query {
    pub fn new(r: &MissingPerson, table: &CaseTable) -> Query {
        let branch_text = r
            .branch
            .as_deref()
            .map(fold_branch)
            .filter(|b| !b.is_empty());
        Query {
            branch: branch_text
                .as_ref()
                .map(|b| table.branches.get(b).copied().unwrap_or(OTHER_BRANCH)),
            branch_text,
            arrest: r.arrest_date.as_deref().and_then(day_span),
            arrest_text: r.arrest_date.clone(),
            birth: r.birth_date.as_deref().and_then(day_span),
            age_at_arrest: r.age_at_arrest,
            sex: r.sex,
            numbers: r
                .numbers_ascii()
                .into_iter()
                .map(|n| (number_hash(&n), n))
                .collect(),
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
            Some((a0, a1)) => (
                ((day - a1) as f64 / YEAR).max(0.0),
                ((day - a0) as f64 / YEAR).max(0.0),
            ),
            None => (0.0, 0.0),
        };
        Some((a + since.0, a + 1.0 + since.1))
    }
}

/// One signal. Implementations must be cheap: `score` runs once per case for every query.
pub trait Scorer: Send + Sync {
    fn signal(&self) -> Signal;
    /// Say why this case does or does not fit the record (nothing: no opinion), through
    /// [`Sink::add`].
    fn score(&self, q: &Query, c: &CaseFacts, table: &CaseTable, out: &mut Sink);
}

/// Where scorers put their reasons. While scanning every case only the weights are summed;
/// the reasons themselves (strings, for the portal) are built only for the cases shown.
#[derive(Debug, Default)]
pub struct Sink {
    explain: bool,
    pub total: f64,
    pub reasons: Vec<Reason>,
}

impl Sink {
    /// `explain`: keep the reasons, not only the total.
    pub fn new(explain: bool) -> Sink {
        Sink {
            explain,
            total: 0.0,
            reasons: Vec::new(),
        }
    }

    pub fn add(
        &mut self,
        signal: Signal,
        weight: f64,
        code: &str,
        args: impl FnOnce() -> Vec<(&'static str, String)>,
    ) {
        self.total += weight;
        if self.explain {
            self.reasons.push(Reason {
                signal,
                weight,
                detail: Detail::new(code, &args()),
            });
        }
    }

    fn clear(&mut self) {
        self.total = 0.0;
        self.reasons.clear();
    }
}

/// The branch the family believes held the person.
pub struct BranchScorer;
impl Scorer for BranchScorer {
    fn signal(&self) -> Signal {
        Signal::Branch
    }
    fn score(&self, q: &Query, c: &CaseFacts, t: &CaseTable, out: &mut Sink) {
        let Some(want) = q.branch else {
            return;
        };
        if c.branch == NO_BRANCH {
            return;
        }
        let have = || t.text(c).branch.clone().unwrap_or_default();
        if want == c.branch {
            out.add(Signal::Branch, 2.0, "branch-match", || {
                vec![("branch", have())]
            });
        } else {
            // Families are often told the wrong branch, and detainees moved between them.
            out.add(Signal::Branch, -1.0, "branch-differs", || {
                vec![
                    ("record", q.branch_text.clone().unwrap_or_default()),
                    ("case", have()),
                ]
            });
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
    fn score(&self, q: &Query, c: &CaseFacts, t: &CaseTable, out: &mut Sink) {
        let (Some((first, last)), Some(doc)) = (q.arrest, c.documented) else {
            return;
        };
        let args = || {
            vec![
                ("arrest", q.arrest_text.clone().unwrap_or_default()),
                (
                    "documented",
                    t.text(c).documented.clone().unwrap_or_default(),
                ),
            ]
        };
        if doc < first {
            // Outweighs everything but a known number: a body documented before the arrest
            // is someone else, unless the family has the date wrong.
            out.add(Signal::Dates, -15.0, "documented-before-arrest", args);
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
        out.add(Signal::Dates, w, "documented-after-arrest", || {
            let mut a = args();
            a.push(("days", days.to_string()));
            a
        });
    }
}

pub struct SexScorer;
impl Scorer for SexScorer {
    fn signal(&self) -> Signal {
        Signal::Sex
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Sink) {
        let (Some(want), Some(have)) = (q.sex, c.sex) else {
            return;
        };
        if want == have {
            out.add(Signal::Sex, 0.5, "sex-match", || {
                vec![("sex", have.as_str().into())]
            });
        } else {
            out.add(Signal::Sex, -6.0, "sex-differs", || {
                vec![
                    ("record", want.as_str().into()),
                    ("case", have.as_str().into()),
                ]
            });
        }
    }
}

/// The person's age when the body was documented against the investigator's estimate.
pub struct AgeScorer;
impl Scorer for AgeScorer {
    fn signal(&self) -> Signal {
        Signal::Age
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Sink) {
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
        let args = || {
            vec![
                ("age", format!("{:.0}", (lo + hi) / 2.0)),
                ("min", format!("{min:.0}")),
                ("max", format!("{:.0}", max - 1.0)),
            ]
        };
        if gap == 0.0 {
            // Nearer the middle of the estimate is likelier than at its edge.
            let mid = (min + max) / 2.0;
            let off = (((lo + hi) / 2.0 - mid).abs() / ((max - min) / 2.0).max(1.0)).min(1.0);
            out.add(Signal::Age, 1.5 - 0.75 * off, "age-in-range", args);
        } else if gap <= 3.0 {
            out.add(Signal::Age, 0.5, "age-near-range", args);
        } else {
            out.add(
                Signal::Age,
                -(gap * 0.4).min(4.0),
                "age-outside-range",
                args,
            );
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
    fn score(&self, q: &Query, c: &CaseFacts, table: &CaseTable, out: &mut Sink) {
        if q.marks.is_empty() || c.marks.0 == c.marks.1 {
            return;
        }
        let mut matched = false;
        for qm in &q.marks {
            if qm.weight == 0.0 {
                continue;
            }
            let mut best: Option<(f32, &MarkRef)> = None;
            for cm in table.marks(c) {
                let terms = table.terms_of(cm);
                let shared: f32 = qm
                    .terms
                    .iter()
                    .filter(|t| terms.contains(t))
                    .map(|&t| table.idf[t as usize])
                    .sum();
                if shared == 0.0 {
                    continue;
                }
                let dice = 2.0 * shared / (qm.weight + cm.weight);
                if best.is_none_or(|(b, _)| dice > b) {
                    best = Some((dice, cm));
                }
            }
            if let Some((sim, cm)) = best.filter(|(s, _)| *s >= 0.45) {
                matched = true;
                out.add(Signal::Marks, 6.0 * sim as f64, "mark-match", || {
                    vec![
                        ("record", qm.text.clone()),
                        ("case", table.mark_text(cm).to_string()),
                        ("similarity", format!("{sim:.2}")),
                    ]
                });
            }
        }
        if !matched {
            // Marks may be hidden by injuries or decay, so this speaks only a little against.
            out.add(Signal::Marks, -0.5, "marks-differ", Vec::new);
        }
    }
}

/// A detainee or report number the family knows, on the body's label.
pub struct NumberScorer;
impl Scorer for NumberScorer {
    fn signal(&self) -> Signal {
        Signal::Number
    }
    fn score(&self, q: &Query, c: &CaseFacts, _: &CaseTable, out: &mut Sink) {
        for (hash, n) in &q.numbers {
            for (field, have) in [("detainee", c.detainee), ("report", c.report)] {
                if have == *hash {
                    let w = if field == "detainee"
                        && c.branch != NO_BRANCH
                        && q.branch.is_some_and(|b| b != c.branch)
                    {
                        // The same detainee number recurs across branches.
                        3.0
                    } else {
                        10.0
                    };
                    out.add(Signal::Number, w, "number-match", || {
                        vec![("number", n.clone()), ("field", field.into())]
                    });
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
        let mut sink = Sink::new(true);
        for s in &self.scorers {
            s.score(q, c, table, &mut sink);
        }
        Candidate {
            case_id: table.id(c).to_string(),
            score: sink.total,
            reasons: sink.reasons,
        }
    }

    /// The `limit` best cases for a record, best first (ties by case id). Cases with nothing
    /// in favour (score ≤ 0) are left out.
    pub fn rank_table(&self, table: &CaseTable, r: &MissingPerson, limit: usize) -> Vec<Candidate> {
        let q = Query::new(r, table);
        let mut sink = Sink::new(false);
        // Keep the best `limit` (score, index) in a small sorted buffer; build the full
        // candidate (with owned reasons) only for those.
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(limit + 1);
        for (i, c) in table.cases.iter().enumerate() {
            if !c.open {
                continue;
            }
            sink.clear();
            for s in &self.scorers {
                s.score(&q, c, table, &mut sink);
            }
            let score = sink.total;
            if score <= 0.0 {
                continue;
            }
            if best.len() == limit && best.last().is_some_and(|(s, _)| score <= *s) {
                continue;
            }
            let id = table.id(c);
            let at = best.partition_point(|(s, j)| {
                *s > score || (*s == score && table.text[*j].id.as_str() < id)
            });
            best.insert(at, (score, i));
            best.truncate(limit);
        }
        best.into_iter()
            .map(|(_, i)| self.candidate(&q, &table.cases[i], table))
            .collect()
    }

    /// Rank against the catalogue's cases (read through the shared cache).
    pub fn rank(
        &self,
        cat: &SqlCatalog,
        r: &MissingPerson,
        limit: usize,
    ) -> Result<Vec<Candidate>> {
        let table = cached_table(cat)?;
        Ok(self.rank_table(&table, r, limit))
    }
}

/// The `limit` best cases for a record, with the standard signals. Identified cases are
/// left out.
pub fn rank(cat: &SqlCatalog, r: &MissingPerson, limit: usize) -> Result<Vec<Candidate>> {
    Matcher::standard().rank(cat, r, limit)
}

type CacheKey = (String, u64, [u8; 32]);
static CACHE: Mutex<Option<(CacheKey, Arc<CaseTable>)>> = Mutex::new(None);

/// The case table of this catalogue at its current log position: read once, then shared
/// until the log grows (every change to cases is a log event, so the position says when the
/// table is stale).
pub fn cached_table(cat: &SqlCatalog) -> Result<Arc<CaseTable>> {
    let (seq, leaf) = cat.position()?;
    let key: CacheKey = (cat.id().to_string(), seq, leaf);
    if let Some((k, t)) = CACHE.lock().expect("cache lock").as_ref() {
        if *k == key {
            return Ok(t.clone());
        }
    }
    let table = Arc::new(CaseTable::load(cat)?);
    *CACHE.lock().expect("cache lock") = Some((key, table.clone()));
    Ok(table)
}

impl SqlCatalog {
    /// Every case with its observations, for matching.
    pub(crate) fn match_rows(&self) -> Result<Vec<(crate::CaseRow, Option<Observations>)>> {
        // Only what matching reads (no photo counts), in one pass.
        Ok(self.db().query(
            "SELECT c.id, c.basis, c.status, c.detainee, c.branch, c.report, c.hospital,
                    c.first_taken, o.body
             FROM cases c LEFT JOIN case_observations o ON o.case_id = c.id ORDER BY c.id",
            &[],
            |r| {
                let obs: Option<String> = r.get(8)?;
                Ok((
                    crate::CaseRow {
                        id: r.get(0)?,
                        basis: r.get(1)?,
                        status: r.get(2)?,
                        detainee: r.get(3)?,
                        branch: r.get(4)?,
                        report: r.get(5)?,
                        hospital: r.get(6)?,
                        first_taken: r.get(7)?,
                        last_taken: None,
                        camera: None,
                        photos: 0,
                        observations: None,
                    },
                    obs.and_then(|b| serde_json::from_str(&b).ok()),
                ))
            },
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_and_spans() {
        assert_eq!(day_number(1970, 1, 1), 0);
        assert_eq!(day_number(2012, 3, 1) - day_number(2012, 2, 28), 2);
        assert_eq!(
            day_span("2012"),
            Some((day_number(2012, 1, 1), day_number(2012, 12, 31)))
        );
        assert_eq!(
            day_span("2012-02"),
            Some((day_number(2012, 2, 1), day_number(2012, 2, 29)))
        );
        assert_eq!(
            day_span("٢٠١٢-٠٥-٠٣").map(|s| s.0),
            Some(day_number(2012, 5, 3))
        );
        assert_eq!(
            day_span("2012-05-03T10:11:12").map(|s| s.0),
            Some(day_number(2012, 5, 3))
        );
        assert_eq!(day_span("May 2012"), None);
    }
}
