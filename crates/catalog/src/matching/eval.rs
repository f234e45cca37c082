//! A synthetic set of cases and missing-person records with ground truth, to measure
//! matching; and the demo's seed of observations and family records from the corpus's
//! ground truth.
//!
//! Cases are drafts of the events the archive would log: a "metadata extraction" per photo
//! (camera time, the label's numbers), a "grouping" per case and, for most, the
//! investigator's observations. Records are written as families write them: arrest some
//! days to two years before the body was documented, the age at arrest, marks in Arabic,
//! English or French in other words than the investigator's. Each record is labelled with
//! what, if anything, is wrong or missing in it ([`RecordKind`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map};

use athar_vault::EventDraft;

use crate::grouping::case_id;
use crate::observations::{observation_event, Observations};
use crate::records::{new_record_id, MissingPerson, PersonNames, Sex};
use crate::{CatalogError, Result, GROUPING, METADATA_EXTRACTION};

/// What is true of a synthetic record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    /// Every fact right: branch, arrest date, sex, age, and marks the body shows.
    Right,
    /// Right, and the family also knows the detainee number.
    RightWithNumber,
    /// The family was told the wrong branch.
    WrongBranch,
    /// No arrest date.
    NoDates,
    /// The age is 10-20 years off.
    WrongAge,
    /// No marks (the family knows none, or the body shows none).
    NoMarks,
    /// The case has no observations (no sex, age or marks recorded).
    CaseNotObserved,
    /// The person is not among the cases.
    NotInArchive,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Right => "right",
            RecordKind::RightWithNumber => "right, with a known number",
            RecordKind::WrongBranch => "wrong branch",
            RecordKind::NoDates => "no arrest date",
            RecordKind::WrongAge => "age 10-20 years off",
            RecordKind::NoMarks => "no marks",
            RecordKind::CaseNotObserved => "case not observed",
            RecordKind::NotInArchive => "not in the archive",
        }
    }

    /// Are all of the record's facts right (the records the accuracy goal is about)?
    pub fn facts_right(self) -> bool {
        matches!(self, RecordKind::Right | RecordKind::RightWithNumber)
    }
}

pub struct Synthetic {
    /// The events that create the cases, in log order.
    pub drafts: Vec<EventDraft>,
    /// Each record with the id of its true case (`None`: not in the archive).
    pub records: Vec<(MissingPerson, Option<String>)>,
    /// What is wrong or missing in each record, parallel to `records`.
    pub kinds: Vec<RecordKind>,
    /// Number of cases.
    pub cases: usize,
}

const BRANCHES: [(&str, u32); 6] = [
    ("215", 30),
    ("227", 20),
    ("235", 15),
    ("248", 12),
    ("251", 13),
    ("216", 10),
];
const HOSPITALS: [&str; 2] = ["601", "Tishreen"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MarkType {
    Scar,
    Burn,
    Tattoo(Motif),
    Mole,
    Birthmark,
    MissingFinger,
    GoldTooth,
    Surgical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Motif {
    Eagle,
    Anchor,
    Heart,
    Star,
    Rose,
    Sword,
    Crescent,
    Bird,
    Dots,
    Name(usize),
}

const TATTOO_NAMES: [(&str, &str); 8] = [
    ("Samira", "سميرة"),
    ("Layla", "ليلى"),
    ("Mariam", "مريم"),
    ("Hanan", "حنان"),
    ("Ahmad", "أحمد"),
    ("Rana", "رنا"),
    ("Khaled", "خالد"),
    ("Nour", "نور"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Mark {
    kind: MarkType,
    part: usize,
    left: bool,
}

/// (English, French, Arabic, Arabic gender is feminine, sided)
const PARTS: [(&str, &str, &str, bool, bool); 18] = [
    ("arm", "bras", "الذراع", true, true),
    ("forearm", "avant-bras", "الساعد", false, true),
    ("hand", "main", "اليد", true, true),
    ("wrist", "poignet", "المعصم", false, true),
    ("shoulder", "épaule", "الكتف", false, true),
    ("leg", "jambe", "الساق", true, true),
    ("thigh", "cuisse", "الفخذ", false, true),
    ("knee", "genou", "الركبة", true, true),
    ("foot", "pied", "القدم", true, true),
    ("cheek", "joue", "الخد", false, true),
    ("eyebrow", "sourcil", "الحاجب", false, true),
    ("ear", "oreille", "الأذن", true, true),
    ("chest", "poitrine", "الصدر", false, false),
    ("back", "dos", "الظهر", false, false),
    ("abdomen", "ventre", "البطن", false, false),
    ("forehead", "front", "الجبين", false, false),
    ("neck", "cou", "الرقبة", true, false),
    ("chin", "menton", "الذقن", false, false),
];

fn random_mark(rng: &mut StdRng) -> Mark {
    let motif = |rng: &mut StdRng| match rng.gen_range(0..10) {
        0 => Motif::Eagle,
        1 => Motif::Anchor,
        2 => Motif::Heart,
        3 => Motif::Star,
        4 => Motif::Rose,
        5 => Motif::Sword,
        6 => Motif::Crescent,
        7 => Motif::Bird,
        8 => Motif::Dots,
        _ => Motif::Name(rng.gen_range(0..TATTOO_NAMES.len())),
    };
    let kind = match rng.gen_range(0..16) {
        0..=3 => MarkType::Scar,
        4 | 5 => MarkType::Burn,
        6..=9 => MarkType::Tattoo(motif(rng)),
        10 | 11 => MarkType::Mole,
        12 => MarkType::Birthmark,
        13 => MarkType::MissingFinger,
        14 => MarkType::GoldTooth,
        _ => MarkType::Surgical,
    };
    let part = match kind {
        MarkType::MissingFinger => 2,
        MarkType::GoldTooth => 17,
        MarkType::Surgical => [12, 14, 13, 6][rng.gen_range(0..4)],
        _ => rng.gen_range(0..PARTS.len()),
    };
    Mark {
        kind,
        part,
        left: rng.gen_bool(0.5),
    }
}

fn motif_en(m: Motif) -> String {
    match m {
        Motif::Eagle => "eagle".into(),
        Motif::Anchor => "anchor".into(),
        Motif::Heart => "heart".into(),
        Motif::Star => "star".into(),
        Motif::Rose => "rose".into(),
        Motif::Sword => "sword".into(),
        Motif::Crescent => "crescent".into(),
        Motif::Bird => "bird".into(),
        Motif::Dots => "three dots".into(),
        Motif::Name(i) => format!("the name {}", TATTOO_NAMES[i].0),
    }
}

fn motif_fr(m: Motif) -> String {
    match m {
        Motif::Eagle => "aigle".into(),
        Motif::Anchor => "ancre".into(),
        Motif::Heart => "coeur".into(),
        Motif::Star => "étoile".into(),
        Motif::Rose => "rose".into(),
        Motif::Sword => "épée".into(),
        Motif::Crescent => "croissant".into(),
        Motif::Bird => "oiseau".into(),
        Motif::Dots => "trois points".into(),
        Motif::Name(i) => format!("nom {}", TATTOO_NAMES[i].0),
    }
}

fn motif_ar(m: Motif) -> String {
    match m {
        Motif::Eagle => "نسر".into(),
        Motif::Anchor => "مرساة".into(),
        Motif::Heart => "قلب".into(),
        Motif::Star => "نجمة".into(),
        Motif::Rose => "وردة".into(),
        Motif::Sword => "سيف".into(),
        Motif::Crescent => "هلال".into(),
        Motif::Bird => "عصفور".into(),
        Motif::Dots => "ثلاث نقاط".into(),
        Motif::Name(i) => format!("اسم {}", TATTOO_NAMES[i].1),
    }
}

/// The mark in English, as an investigator or a family might write it (`variant` picks the
/// wording).
fn mark_en(m: &Mark, variant: bool) -> String {
    let (part, _, _, _, sided) = PARTS[m.part];
    let side = if !sided {
        String::new()
    } else if m.left {
        "left ".into()
    } else {
        "right ".into()
    };
    let what = match m.kind {
        MarkType::Scar => (if variant { "old scar" } else { "scar" }).to_string(),
        MarkType::Burn => (if variant { "burn mark" } else { "burn scar" }).to_string(),
        MarkType::Tattoo(t) if variant => format!("tattoo of {}", motif_en(t)),
        MarkType::Tattoo(t) => format!("{} tattoo", motif_en(t)),
        MarkType::Mole => (if variant { "large mole" } else { "mole" }).into(),
        MarkType::Birthmark => "birthmark".into(),
        MarkType::MissingFinger => {
            return format!(
                "{} finger missing on the {side}hand",
                if variant { "little" } else { "one" }
            )
        }
        MarkType::GoldTooth => return "gold tooth".into(),
        MarkType::Surgical => (if variant {
            "surgical scar"
        } else {
            "operation scar"
        })
        .into(),
    };
    format!("{what} on the {side}{part}")
}

fn mark_fr(m: &Mark) -> String {
    let (_, part, _, _, sided) = PARTS[m.part];
    let side = if !sided {
        ""
    } else if m.left {
        " gauche"
    } else {
        " droit"
    };
    let what = match m.kind {
        MarkType::Scar => "cicatrice".to_string(),
        MarkType::Burn => "cicatrice de brûlure".into(),
        MarkType::Tattoo(t) => format!("tatouage {}", motif_fr(t)),
        MarkType::Mole => "grain de beauté".into(),
        MarkType::Birthmark => "tache de naissance".into(),
        MarkType::MissingFinger => return format!("doigt manquant à la main{side}"),
        MarkType::GoldTooth => return "dent en or".into(),
        MarkType::Surgical => "cicatrice opératoire".into(),
    };
    format!("{what} sur {part}{side}")
}

fn mark_ar(m: &Mark) -> String {
    let (_, _, part, feminine, sided) = PARTS[m.part];
    let side = match (sided, m.left, feminine) {
        (false, _, _) => "",
        (true, true, true) => " اليسرى",
        (true, true, false) => " الأيسر",
        (true, false, true) => " اليمنى",
        (true, false, false) => " الأيمن",
    };
    let what = match m.kind {
        MarkType::Scar => "ندبة".to_string(),
        MarkType::Burn => "أثر حرق".into(),
        MarkType::Tattoo(t) => format!("وشم {}", motif_ar(t)),
        MarkType::Mole => "شامة".into(),
        MarkType::Birthmark => "وحمة".into(),
        MarkType::MissingFinger => return format!("إصبع مبتور في اليد{side}"),
        MarkType::GoldTooth => return "سن ذهبي".into(),
        MarkType::Surgical => "أثر عملية جراحية".into(),
    };
    format!("{what} على {part}{side}")
}

const GIVEN: [(&str, &str); 12] = [
    ("Mohammed", "محمد"),
    ("Ahmad", "أحمد"),
    ("Khaled", "خالد"),
    ("Hussein", "حسين"),
    ("Yousef", "يوسف"),
    ("Abdulrahman", "عبد الرحمن"),
    ("Omar", "عمر"),
    ("Mahmoud", "محمود"),
    ("Ibrahim", "إبراهيم"),
    ("Mustafa", "مصطفى"),
    ("Ali", "علي"),
    ("Hassan", "حسن"),
];
const FEMALE: [(&str, &str); 4] = [
    ("Fatima", "فاطمة"),
    ("Zainab", "زينب"),
    ("Rasha", "رشا"),
    ("Hiba", "هبة"),
];
const FAMILY: [(&str, &str); 8] = [
    ("al-Halabi", "الحلبي"),
    ("Darwish", "درويش"),
    ("al-Khatib", "الخطيب"),
    ("Haddad", "حداد"),
    ("al-Masri", "المصري"),
    ("Qassem", "قاسم"),
    ("al-Hamwi", "الحموي"),
    ("Shami", "الشامي"),
];

fn date(day: i32) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut x = rng.gen_range(0..total);
    for &(v, w) in weighted {
        if x < w {
            return v;
        }
        x -= w;
    }
    weighted[weighted.len() - 1].0
}

/// A body as the generator knows it.
struct Body {
    case: String,
    branch: &'static str,
    detainee: String,
    documented: i32,
    sex: Sex,
    age: u32,
    marks: Vec<Mark>,
    /// The marks the investigator saw and wrote down (`None`: no observations).
    observed: Option<Vec<Mark>>,
}

/// `n_cases` cases and two records for every five cases (at least 200), from `seed`.
pub fn synthetic(n_cases: usize, seed: u64) -> Synthetic {
    let mut rng = StdRng::seed_from_u64(seed);
    let first = crate::matching::day_number(2011, 5, 1);
    let last = crate::matching::day_number(2013, 8, 31);
    let mut used: HashSet<String> = HashSet::new();
    let mut bodies = Vec::with_capacity(n_cases);
    let mut drafts = Vec::with_capacity(n_cases * 3);
    while bodies.len() < n_cases {
        let branch = pick(&mut rng, &BRANCHES);
        let detainee = rng.gen_range(1..100_000u32).to_string();
        let case = case_id(Some(branch), &detainee);
        if !used.insert(case.clone()) {
            continue;
        }
        let documented = rng.gen_range(first..=last);
        let sex = if rng.gen_bool(0.96) {
            Sex::Male
        } else {
            Sex::Female
        };
        let age = match rng.gen_range(0..20) {
            0 => rng.gen_range(14..18),
            1 => rng.gen_range(60..80),
            _ => rng.gen_range(18..60),
        };
        let n_marks = pick(&mut rng, &[(0usize, 20), (1, 40), (2, 28), (3, 12)]);
        let marks: Vec<Mark> = (0..n_marks).map(|_| random_mark(&mut rng)).collect();
        let observed: Vec<Mark> = marks
            .iter()
            .copied()
            .filter(|_| rng.gen_bool(0.85))
            .collect();
        let hospital = HOSPITALS[rng.gen_range(0..2)];
        let report = format!("{}/{}", rng.gen_range(1..9000), civil(documented).0);
        let (y, m, d) = civil(documented);
        let taken = format!(
            "{y:04}:{m:02}:{d:02} {:02}:{:02}:{:02}",
            rng.gen_range(7..18),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
        let sha = hex::encode(rng.gen::<[u8; 32]>());
        let mut meta = Map::new();
        meta.insert("exif".into(), json!({ "datetime_original": taken, "make": "NIKON CORPORATION", "model": "NIKON D90" }));
        meta.insert(
            "labels".into(),
            json!({ "detainee": detainee, "branch": branch, "report": report, "hospital": hospital }),
        );
        drafts.push(EventDraft {
            kind: METADATA_EXTRACTION.into(),
            objects: vec![sha.clone()],
            details: meta,
        });
        let mut g = Map::new();
        for (k, v) in [
            ("case", case.as_str()),
            ("basis", "numbers"),
            ("status", "unidentified"),
            ("detainee", detainee.as_str()),
            ("branch", branch),
            ("report", report.as_str()),
            ("hospital", hospital),
        ] {
            g.insert(k.into(), json!(v));
        }
        drafts.push(EventDraft {
            kind: GROUPING.into(),
            objects: vec![sha],
            details: g,
        });
        let observed = if rng.gen_bool(0.9) {
            let estimate = age as i32 + rng.gen_range(-3..=3);
            let width = rng.gen_range(4..=6);
            let obs = Observations {
                sex: rng.gen_bool(0.95).then_some(sex),
                age_min: Some((estimate - width).max(10) as u32),
                age_max: Some((estimate + width) as u32),
                injuries: Vec::new(),
                marks: observed
                    .iter()
                    .map(|m| {
                        if rng.gen_bool(0.2) {
                            mark_ar(m)
                        } else {
                            mark_en(m, false)
                        }
                    })
                    .collect(),
                notes: String::new(),
            };
            drafts.push(observation_event(&case, &obs));
            Some(observed)
        } else {
            None
        };
        bodies.push(Body {
            case,
            branch,
            detainee,
            documented,
            sex,
            age,
            marks,
            observed,
        });
    }

    let n_records = (n_cases * 2 / 5).max(200).min(n_cases);
    let mut records = Vec::with_capacity(n_records);
    let mut kinds = Vec::with_capacity(n_records);
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    for &bi in order.iter().take(n_records) {
        let b = &bodies[bi];
        let mut kind = pick(
            &mut rng,
            &[
                (RecordKind::Right, 55),
                (RecordKind::RightWithNumber, 7),
                (RecordKind::WrongBranch, 8),
                (RecordKind::NoDates, 8),
                (RecordKind::WrongAge, 7),
                (RecordKind::NoMarks, 7),
                (RecordKind::NotInArchive, 8),
            ],
        );
        let in_custody = rng.gen_range(5..720);
        let arrest = b.documented - in_custody;
        let mut r = record_for(&mut rng, b.sex, b.age - (in_custody / 365) as u32, arrest);
        r.branch = Some(b.branch.to_string());
        // The marks the family knows and would describe.
        let known: Vec<Mark> = b
            .marks
            .iter()
            .copied()
            .filter(|_| rng.gen_bool(0.85))
            .collect();
        r.marks = known.iter().map(|m| family_mark(&mut rng, m)).collect();
        if kind.facts_right() {
            match &b.observed {
                None => kind = RecordKind::CaseNotObserved,
                // The body shows none of the marks the family knows: a missing fact.
                Some(seen) if !known.iter().any(|m| seen.contains(m)) => kind = RecordKind::NoMarks,
                Some(_) => {}
            }
        }
        let mut truth = Some(b.case.clone());
        match kind {
            RecordKind::Right => {}
            RecordKind::RightWithNumber => {
                let n = if rng.gen_bool(0.5) {
                    athar_arabic_indic(&b.detainee)
                } else {
                    b.detainee.clone()
                };
                r.known_numbers.push(n);
            }
            RecordKind::WrongBranch => loop {
                let other = pick(&mut rng, &BRANCHES);
                if other != b.branch {
                    r.branch = Some(other.to_string());
                    break;
                }
            },
            RecordKind::NoDates => r.arrest_date = None,
            RecordKind::WrongAge => {
                let off = rng.gen_range(10..=20);
                let a = r.age_at_arrest.unwrap_or(30);
                r.age_at_arrest = Some(if a > 30 { a - off } else { a + off });
            }
            RecordKind::NoMarks => r.marks.clear(),
            RecordKind::CaseNotObserved => {}
            RecordKind::NotInArchive => {
                // Someone else: same kind of facts, no body among the cases.
                let other_sex = if rng.gen_bool(0.96) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let arrest = rng.gen_range(first - 200..last);
                let age = rng.gen_range(18..60);
                r = record_for(&mut rng, other_sex, age, arrest);
                r.branch = Some(pick(&mut rng, &BRANCHES).to_string());
                r.marks = (0..rng.gen_range(0..3))
                    .map(|_| {
                        let m = random_mark(&mut rng);
                        family_mark(&mut rng, &m)
                    })
                    .collect();
                truth = None;
            }
        }
        records.push((r, truth));
        kinds.push(kind);
    }
    Synthetic {
        drafts,
        records,
        kinds,
        cases: bodies.len(),
    }
}

fn athar_arabic_indic(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// A family's wording: Arabic mostly, else English or French, in other words than the
/// investigator's.
fn family_mark(rng: &mut StdRng, m: &Mark) -> String {
    match rng.gen_range(0..10) {
        0..=5 => mark_ar(m),
        6..=8 => mark_en(m, true),
        _ => mark_fr(m),
    }
}

fn record_for(rng: &mut StdRng, sex: Sex, age_at_arrest: u32, arrest: i32) -> MissingPerson {
    let given = if sex == Sex::Male {
        GIVEN[rng.gen_range(0..GIVEN.len())]
    } else {
        FEMALE[rng.gen_range(0..FEMALE.len())]
    };
    let father = GIVEN[rng.gen_range(0..GIVEN.len())];
    let family = FAMILY[rng.gen_range(0..FAMILY.len())];
    let mother = FEMALE[rng.gen_range(0..FEMALE.len())];
    // Families often know only the month of the arrest.
    let arrest_date = if rng.gen_bool(0.25) {
        date(arrest)[..7].to_string()
    } else {
        date(arrest)
    };
    MissingPerson {
        id: hex::encode(rng.gen::<[u8; 16]>()),
        owner: "eval".into(),
        names_ar: PersonNames {
            given: given.1.into(),
            father: father.1.into(),
            grandfather_or_family: family.1.into(),
            mother: mother.1.into(),
        },
        names_latin: PersonNames {
            given: given.0.into(),
            father: father.0.into(),
            grandfather_or_family: family.0.into(),
            mother: mother.0.into(),
        },
        sex: Some(sex),
        birth_date: None,
        age_at_arrest: Some(age_at_arrest),
        origin: "Daraa".into(),
        arrest_date: Some(arrest_date),
        arrest_place: "checkpoint".into(),
        branch: None,
        description: String::new(),
        marks: Vec::new(),
        known_numbers: Vec::new(),
        consent: true,
        created: "2026-01-01T00:00:00Z".into(),
        updated: "2026-01-01T00:00:00Z".into(),
    }
}

/// Top-k accuracy of ranking, by record kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindScore {
    pub records: usize,
    /// Records whose true case is ranked first.
    pub top1: usize,
    /// … among the first ten.
    pub top10: usize,
    /// Records (of people not in the archive) with any candidate at all.
    pub with_candidates: usize,
}

impl KindScore {
    pub fn share_top10(&self) -> f64 {
        self.top10 as f64 / self.records.max(1) as f64
    }
    pub fn share_top1(&self) -> f64 {
        self.top1 as f64 / self.records.max(1) as f64
    }
}

/// Rank every record of `syn` against `table` and count where the true case lands.
pub fn evaluate(
    matcher: &crate::matching::Matcher,
    table: &crate::matching::CaseTable,
    syn: &Synthetic,
) -> BTreeMap<RecordKind, KindScore> {
    let mut out: BTreeMap<RecordKind, KindScore> = BTreeMap::new();
    for ((r, truth), kind) in syn.records.iter().zip(&syn.kinds) {
        let ranked = matcher.rank_table(table, r, 10);
        let s = out.entry(*kind).or_default();
        s.records += 1;
        if !ranked.is_empty() {
            s.with_candidates += 1;
        }
        if let Some(t) = truth {
            if let Some(pos) = ranked.iter().position(|c| &c.case_id == t) {
                s.top10 += 1;
                if pos == 0 {
                    s.top1 += 1;
                }
            }
        }
    }
    out
}

/// From the corpus's `ground_truth.csv` (with its per-body `sex`, `age` and `marks`
/// columns): an observation event for each numbered body's case, and a family record for
/// every fifth numbered body, so the demo has candidates to show.
pub fn demo_seed(ground_truth_csv: &Path) -> Result<(Vec<EventDraft>, Vec<MissingPerson>)> {
    let text = std::fs::read_to_string(ground_truth_csv).map_err(|source| CatalogError::Io {
        path: ground_truth_csv.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let header = parse_csv_line(lines.next().unwrap_or_default());
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = [
        "body_id",
        "detainee",
        "branch",
        "datetime_original",
        "sex",
        "age",
        "marks",
    ];
    let mut at = Vec::new();
    for n in need {
        at.push(col(n).ok_or_else(|| {
            CatalogError::InvalidRecord(format!(
                "{}: no column {n:?}; regenerate the corpus with this version",
                ground_truth_csv.display()
            ))
        })?);
    }
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    let mut records = Vec::new();
    let mut numbered = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let f = parse_csv_line(line);
        let get = |i: usize| f.get(at[i]).map(String::as_str).unwrap_or("");
        let (body, detainee, branch) = (get(0), get(1), get(2));
        if body.is_empty() || detainee.is_empty() || !seen.insert(body.to_string()) {
            continue;
        }
        let case = case_id(Some(branch).filter(|b| !b.is_empty()), detainee);
        let sex = Sex::parse(get(4));
        let age: Option<u32> = get(5).parse().ok();
        let marks: Vec<String> = get(6)
            .split(';')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect();
        let obs = Observations {
            sex,
            age_min: age.map(|a| a.saturating_sub(5)),
            age_max: age.map(|a| a + 5),
            injuries: Vec::new(),
            marks: marks.clone(),
            notes: String::new(),
        };
        events.push(observation_event(&case, &obs));
        numbered += 1;
        if numbered % 5 == 1 {
            let documented = crate::matching::day_span(&get(3).replace(':', "-"))
                .map(|s| s.0)
                .unwrap_or(crate::matching::day_number(2012, 6, 1));
            let mut rng = StdRng::seed_from_u64(numbered as u64);
            let custody = rng.gen_range(30..400);
            let mut r = record_for(
                &mut rng,
                sex.unwrap_or(Sex::Male),
                age.unwrap_or(30).saturating_sub(custody as u32 / 365),
                documented - custody,
            );
            r.id = new_record_id();
            r.owner = "demo".into();
            r.branch = Some(branch.to_string()).filter(|b| !b.is_empty());
            r.marks = marks;
            r.created = athar_vault::now_rfc3339();
            r.updated = r.created.clone();
            records.push(r);
        }
    }
    Ok((events, records))
}

/// One CSV line (RFC 4180 quoting, no embedded newlines).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}
