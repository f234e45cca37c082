//! The deterministic plan of the collection: which photo goes where, shows
//! what, was taken when and with which camera. This is the ground truth; the
//! renderer only turns each row into pixels.

use std::collections::{BTreeSet, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::camera::{Camera, CAMERAS};
use crate::noise::mix;
use crate::CorpusOptions;

pub(crate) const TAG_PLAN: u64 = 0x504C_414E;

/// What a photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoKind {
    /// A documented body (abstract figure, card).
    Body,
    /// Anything else the photographer shot that day.
    Distractor,
}

impl PhotoKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::Body => "body",
            PhotoKind::Distractor => "distractor",
        }
    }
}

/// The scene type that was rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scene {
    Body,
    Corridor,
    Wall,
    Document,
    Table,
    Outdoor,
}

impl Scene {
    pub const DISTRACTORS: [Scene; 5] = [
        Scene::Corridor,
        Scene::Wall,
        Scene::Document,
        Scene::Table,
        Scene::Outdoor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scene::Body => "body",
            Scene::Corridor => "corridor",
            Scene::Wall => "wall",
            Scene::Document => "document",
            Scene::Table => "table",
            Scene::Outdoor => "outdoor",
        }
    }
}

/// Where a body's numbers can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameNumbers {
    /// Folder and file names carry the numbers (and so does the card).
    Yes,
    /// Only the card in the picture carries them.
    CardOnly,
    /// Nowhere (card blank or absent).
    None,
}

impl NameNumbers {
    pub fn as_str(self) -> &'static str {
        match self {
            NameNumbers::Yes => "yes",
            NameNumbers::CardOnly => "card_only",
            NameNumbers::None => "none",
        }
    }
}

/// What the card in a body photo looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// Three lines: detainee, branch (empty for AFI), report.
    Numbers,
    /// A white card with nothing written on it.
    Blank,
    /// No card at all.
    Absent,
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Numbers => "numbers",
            CardKind::Blank => "blank",
            CardKind::Absent => "absent",
        }
    }
}

/// Local date and time of a shot (camera clock, `OffsetTimeOriginal` = [`OFFSET_TIME`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Hundredths of a second (`SubSecTimeOriginal`, two digits).
    pub subsec: u32,
}

impl Timestamp {
    /// EXIF form `YYYY:MM:DD HH:MM:SS`.
    pub fn exif(&self) -> String {
        format!(
            "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `SubSecTimeOriginal`, always two digits.
    pub fn subsec_str(&self) -> String {
        format!("{:02}", self.subsec)
    }

    /// ISO 8601 with sub-seconds and offset, e.g. `2012-05-03T10:12:33.07+03:00`.
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:02}{}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.subsec,
            OFFSET_TIME
        )
    }
}

/// `OffsetTimeOriginal` of every photo.
pub const OFFSET_TIME: &str = "+03:00";
/// First day of the collection (inclusive).
pub const FIRST_DAY: (i32, u32, u32) = (2011, 5, 1);
/// Last day of the collection (inclusive).
pub const LAST_DAY: (i32, u32, u32) = (2013, 8, 31);

/// Branch code written in the ground truth for Air Force Intelligence bodies.
/// Their card leaves the branch line empty; names use the Arabic words
/// [`AFI_ARABIC`] (folders) and `AFI` (file names).
pub const AFI: &str = "AFI";
/// "Air Force Intelligence" in Arabic, used in folder names.
pub const AFI_ARABIC: &str = "المخابرات الجوية";

/// Branch mix of bodies, in percent.
pub const BRANCHES: [(&str, u32); 9] = [
    ("215", 52),
    ("227", 30),
    (AFI, 5),
    ("216", 4),
    ("235", 2),
    ("248", 2),
    ("251", 2),
    ("220", 2),
    ("285", 1),
];

/// Military hospital 601 (Mezzeh).
pub const HOSPITAL_601: &str = "601";
/// Tishreen military hospital.
pub const HOSPITAL_TISHREEN: &str = "Tishreen";

/// A photographer: folder name, hospital, usual camera (index into
/// [`CAMERAS`]), share of sessions in percent.
#[derive(Debug, Clone, Copy)]
pub struct Photographer {
    pub name: &'static str,
    pub hospital: &'static str,
    pub camera: usize,
    pub weight: u32,
}

pub const PHOTOGRAPHERS: [Photographer; 4] = [
    Photographer {
        name: "P1",
        hospital: HOSPITAL_601,
        camera: 0,
        weight: 35,
    },
    Photographer {
        name: "P2",
        hospital: HOSPITAL_601,
        camera: 1,
        weight: 30,
    },
    Photographer {
        name: "P3",
        hospital: HOSPITAL_601,
        camera: 2,
        weight: 20,
    },
    Photographer {
        name: "P4",
        hospital: HOSPITAL_TISHREEN,
        camera: 4,
        weight: 15,
    },
];

/// The spare camera (FUJIFILM) anybody may take on a given day.
pub const SPARE_CAMERA: usize = 3;
/// Percent of sessions shot with the spare camera instead of the usual one.
pub const SPARE_PERCENT: u32 = 8;
/// Target share of distractors among all photos, in percent.
pub const DISTRACTOR_PERCENT: usize = 45;

/// One planned photo: a ground-truth row plus what the renderer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoPlan {
    /// Position in the plan (chronological); seeds the photo's RNG.
    pub index: usize,
    /// Path relative to the corpus root, `/`-separated, UTF-8.
    pub path: String,
    pub kind: PhotoKind,
    pub scene: Scene,
    /// Index of the body (0-based, chronological), body photos only.
    pub body_index: Option<usize>,
    /// `B00001`-style id, body photos only.
    pub body_id: Option<String>,
    /// Detainee number (ASCII digits); `None` for distractors and unnumbered bodies.
    pub detainee: Option<String>,
    /// Branch number, or [`AFI`].
    pub branch: Option<String>,
    /// Forensic report number `number/yy`.
    pub report: Option<String>,
    /// Hospital where the photographer worked that day.
    pub hospital: &'static str,
    /// Body photos only.
    pub names_have_numbers: Option<NameNumbers>,
    /// Body photos only.
    pub card: Option<CardKind>,
    /// Index into [`CAMERAS`].
    pub camera: usize,
    pub time: Timestamp,
    pub photographer: &'static str,
    /// 1-based shot number within the body, body photos only.
    pub shot: Option<u32>,
}

impl PhotoPlan {
    pub fn camera(&self) -> &'static Camera {
        &CAMERAS[self.camera]
    }

    /// EXIF `Software`, when the camera writes one.
    pub fn software(&self) -> Option<&'static str> {
        self.camera().software
    }

    /// The three card lines, `None` when there is no card.
    pub fn card_lines(&self) -> Option<[String; 3]> {
        match self.card? {
            CardKind::Absent => None,
            CardKind::Blank => Some(Default::default()),
            CardKind::Numbers => {
                let b = self.branch.clone().unwrap_or_default();
                Some([
                    self.detainee.clone().unwrap_or_default(),
                    if b == AFI { String::new() } else { b },
                    self.report.clone().unwrap_or_default(),
                ])
            }
        }
    }
}

// ---------------------------------------------------------------- dates

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i32) -> (i32, u32, u32) {
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

// ---------------------------------------------------------------- helpers

fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Replace ASCII digits by Arabic-Indic digits (U+0660..U+0669).
pub fn to_arabic_indic(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x0660 + (c as u32 - '0' as u32)).unwrap(),
            c => c,
        })
        .collect()
}

/// Sample a day, more bodies later in the period (weight rises 1 -> 4).
fn sample_day(rng: &mut ChaCha8Rng) -> i32 {
    let first = days_from_civil(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2);
    let last = days_from_civil(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2);
    loop {
        let d = rng.gen_range(first..=last);
        let t = (d - first) as f64 / (last - first) as f64;
        if rng.gen::<f64>() * 4.0 < 1.0 + 3.0 * t {
            return d;
        }
    }
}

struct BodyDraft {
    shots: u32,
    branch: &'static str,
    names: NameNumbers,
    card: CardKind,
    folder_style: u8,
    file_style: u8,
    folder_indic: bool,
    file_indic: bool,
}

fn draft_body(rng: &mut ChaCha8Rng) -> BodyDraft {
    let shots = 3 + weighted(rng, &[35, 35, 20, 10]) as u32;
    let bw: Vec<u32> = BRANCHES.iter().map(|b| b.1).collect();
    let branch = BRANCHES[weighted(rng, &bw)].0;
    let names = match weighted(rng, &[85, 10, 5]) {
        0 => NameNumbers::Yes,
        1 => NameNumbers::CardOnly,
        _ => NameNumbers::None,
    };
    let card = match names {
        NameNumbers::None if rng.gen_bool(0.5) => CardKind::Absent,
        NameNumbers::None => CardKind::Blank,
        _ => CardKind::Numbers,
    };
    BodyDraft {
        shots,
        branch,
        names,
        card,
        folder_style: weighted(rng, &[50, 30, 20]) as u8,
        file_style: weighted(rng, &[80, 20]) as u8,
        folder_indic: rng.gen_bool(0.25),
        file_indic: rng.gen_bool(0.2),
    }
}

struct Session {
    day: i32,
    photographer: usize,
    bodies: usize,
    camera: usize,
    drafts: Vec<BodyDraft>,
    distractors: Vec<Scene>,
}

/// Unique folder name within a parent: appends Arabic letters (` ب`, ` ج`,
/// ...), never digits, so that a folder without numbers stays without numbers.
fn unique(used: &mut BTreeSet<String>, name: String) -> String {
    const LETTERS: [char; 13] = [
        'ب', 'ج', 'د', 'ه', 'و', 'ز', 'ح', 'ط', 'ي', 'ك', 'ل', 'م', 'ن',
    ];
    if used.insert(name.clone()) {
        return name;
    }
    for mut k in 0usize.. {
        let mut suffix = String::new();
        loop {
            suffix.insert(0, LETTERS[k % LETTERS.len()]);
            k /= LETTERS.len();
            if k == 0 {
                break;
            }
            k -= 1;
        }
        let n = format!("{name} {suffix}");
        if used.insert(n.clone()) {
            return n;
        }
    }
    unreachable!()
}

fn folder_name(d: &BodyDraft, detainee: &str, branch: &str, report: &str) -> String {
    let report = report.replace('/', "-");
    let afi = branch == AFI;
    let name = match (d.folder_style, afi) {
        (0, false) => format!("معتقل {detainee} - فرع {branch}"),
        (0, true) => format!("معتقل {detainee} - {AFI_ARABIC}"),
        (1, false) => format!("{detainee} - {branch} - {report}"),
        (1, true) => format!("{detainee} - جوية - {report}"),
        (_, false) => format!("جثة رقم {detainee} فرع {branch}"),
        (_, true) => format!("جثة رقم {detainee} {AFI_ARABIC}"),
    };
    if d.folder_indic {
        to_arabic_indic(&name)
    } else {
        name
    }
}

fn file_name(d: &BodyDraft, detainee: &str, branch: &str, report: &str, shot: u32) -> String {
    let stem = match d.file_style {
        0 => format!("{detainee}_{branch}_{}_{shot:02}", report.replace('/', "-")),
        _ => format!("{detainee}-{shot:02}"),
    };
    let stem = if d.file_indic {
        to_arabic_indic(&stem)
    } else {
        stem
    };
    format!("{stem}.jpg")
}

/// Build the deterministic plan for `opts` (only `bodies` and `seed` matter).
pub fn plan(opts: &CorpusOptions) -> Vec<PhotoPlan> {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(opts.seed, TAG_PLAN, 0));
    let mut counters: Vec<u32> = CAMERAS.iter().map(|_| rng.gen_range(1..3000)).collect();

    // Sessions: a photographer documenting 1-5 bodies on a day.
    let pw: Vec<u32> = PHOTOGRAPHERS.iter().map(|p| p.weight).collect();
    let mut sessions: Vec<Session> = Vec::new();
    let mut left = opts.bodies;
    while left > 0 {
        let k = (1 + weighted(&mut rng, &[30, 25, 20, 15, 10])).min(left);
        left -= k;
        sessions.push(Session {
            day: sample_day(&mut rng),
            photographer: weighted(&mut rng, &pw),
            bodies: k,
            camera: 0,
            drafts: Vec::new(),
            distractors: Vec::new(),
        });
    }
    sessions.sort_by_key(|s| (s.day, s.photographer));
    let mut merged: Vec<Session> = Vec::with_capacity(sessions.len());
    for s in sessions {
        match merged.last_mut() {
            Some(m) if m.day == s.day && m.photographer == s.photographer => m.bodies += s.bodies,
            _ => merged.push(s),
        }
    }
    let mut sessions = merged;
    let mut body_photos = 0usize;
    for s in &mut sessions {
        s.camera = if rng.gen_range(0..100) < SPARE_PERCENT {
            SPARE_CAMERA
        } else {
            PHOTOGRAPHERS[s.photographer].camera
        };
        s.drafts = (0..s.bodies).map(|_| draft_body(&mut rng)).collect();
        body_photos += s.drafts.iter().map(|d| d.shots as usize).sum::<usize>();
    }
    // Distractors: ~45% of all photos, spread over the sessions.
    let n_distractors = if sessions.is_empty() {
        0
    } else {
        (body_photos * DISTRACTOR_PERCENT + (100 - DISTRACTOR_PERCENT) / 2)
            / (100 - DISTRACTOR_PERCENT)
    };
    for _ in 0..n_distractors {
        let s = rng.gen_range(0..sessions.len());
        let scene = Scene::DISTRACTORS[rng.gen_range(0..Scene::DISTRACTORS.len())];
        sessions[s].distractors.push(scene);
    }

    // Number series: per-branch detainee counters, per hospital-year report counters.
    let mut detainee_ctr: HashMap<&str, u32> = HashMap::new();
    let mut report_ctr: HashMap<(&str, i32), u32> = HashMap::new();

    let mut out: Vec<PhotoPlan> = Vec::with_capacity(body_photos + n_distractors);
    let mut body_index = 0usize;
    for s in &sessions {
        let ph = &PHOTOGRAPHERS[s.photographer];
        let (y, m, d) = civil_from_days(s.day);
        let dir = format!("{y:04}/{m:02}/{d:02}/{}", ph.name);
        let mut used_folders = BTreeSet::new();

        // Event order: distractors slotted between body blocks.
        let nb = s.drafts.len();
        let mut slots: Vec<Vec<Scene>> = vec![Vec::new(); nb + 1];
        for &sc in &s.distractors {
            slots[rng.gen_range(0..=nb)].push(sc);
        }
        enum Ev {
            Shot(usize, u32),
            Distractor(Scene),
        }
        let mut events = Vec::new();
        let mut gaps = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            for &sc in slot {
                events.push(Ev::Distractor(sc));
                gaps.push(rng.gen_range(20..=1800u32));
            }
            if i < nb {
                for shot in 1..=s.drafts[i].shots {
                    events.push(Ev::Shot(i, shot));
                    gaps.push(if shot == 1 {
                        rng.gen_range(60..=900)
                    } else {
                        rng.gen_range(4..=90)
                    });
                }
            }
        }
        gaps[0] = 0;
        let mut start: u32 = 8 * 3600 + rng.gen_range(0..6 * 3600);
        let total: u64 = gaps.iter().map(|&g| g as u64).sum();
        let avail = 86_399 - start;
        if total > avail as u64 {
            for g in gaps.iter_mut().skip(1) {
                *g = ((*g as u64 * avail as u64 / total) as u32).max(1);
            }
            let total: u32 = gaps.iter().sum();
            start = start.min(86_399u32.saturating_sub(total));
        }

        // Numbers of the session's bodies, in chronological order.
        struct BodyNums {
            detainee: String,
            branch: String,
            report: String,
            folder: String,
            id: String,
            index: usize,
        }
        let mut nums: Vec<BodyNums> = Vec::with_capacity(nb);
        for dr in &s.drafts {
            let (detainee, branch, report) = if dr.names == NameNumbers::None {
                (String::new(), String::new(), String::new())
            } else {
                let c = detainee_ctr
                    .entry(dr.branch)
                    .or_insert_with(|| rng.gen_range(500..5000));
                *c += rng.gen_range(1..=25);
                let detainee = c.to_string();
                let r = report_ctr
                    .entry((ph.hospital, y))
                    .or_insert_with(|| rng.gen_range(100..2500));
                *r += rng.gen_range(1..=6);
                let report = format!("{}/{:02}", r, y % 100);
                (detainee, dr.branch.to_string(), report)
            };
            let folder = match dr.names {
                NameNumbers::Yes => folder_name(dr, &detainee, &branch, &report),
                _ => "جثة".to_string(),
            };
            let folder = unique(&mut used_folders, folder);
            nums.push(BodyNums {
                detainee,
                branch,
                report,
                folder,
                id: format!("B{:05}", body_index + 1),
                index: body_index,
            });
            body_index += 1;
        }

        // A camera counter never wraps inside a folder: like a photographer
        // formatting the card, numbering restarts before the day's shots.
        if counters[s.camera] as usize + events.len() > 9999 {
            counters[s.camera] = 1;
        }
        let mut t = start;
        for (ev, gap) in events.iter().zip(&gaps) {
            t += gap;
            let time = Timestamp {
                year: y,
                month: m,
                day: d,
                hour: t / 3600,
                minute: t / 60 % 60,
                second: t % 60,
                subsec: rng.gen_range(0..100),
            };
            let cam = &CAMERAS[s.camera];
            let ctr = &mut counters[s.camera];
            let camera_name = format!("{}{:04}.JPG", cam.file_prefix, ctr);
            *ctr += 1;
            let index = out.len();
            let row = match *ev {
                Ev::Distractor(scene) => PhotoPlan {
                    index,
                    path: format!("{dir}/{camera_name}"),
                    kind: PhotoKind::Distractor,
                    scene,
                    body_index: None,
                    body_id: None,
                    detainee: None,
                    branch: None,
                    report: None,
                    hospital: ph.hospital,
                    names_have_numbers: None,
                    card: None,
                    camera: s.camera,
                    time,
                    photographer: ph.name,
                    shot: None,
                },
                Ev::Shot(i, shot) => {
                    let dr = &s.drafts[i];
                    let n = &nums[i];
                    let file = match dr.names {
                        NameNumbers::Yes => file_name(dr, &n.detainee, &n.branch, &n.report, shot),
                        _ => camera_name,
                    };
                    let opt = |x: &String| (!x.is_empty()).then(|| x.clone());
                    PhotoPlan {
                        index,
                        path: format!("{dir}/{}/{file}", n.folder),
                        kind: PhotoKind::Body,
                        scene: Scene::Body,
                        body_index: Some(n.index),
                        body_id: Some(n.id.clone()),
                        detainee: opt(&n.detainee),
                        branch: opt(&n.branch),
                        report: opt(&n.report),
                        hospital: ph.hospital,
                        names_have_numbers: Some(dr.names),
                        card: Some(dr.card),
                        camera: s.camera,
                        time,
                        photographer: ph.name,
                        shot: Some(shot),
                    }
                }
            };
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        for z in -1000..20_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2012, 2, 29)), (2012, 2, 29));
    }

    #[test]
    fn arabic_indic() {
        assert_eq!(to_arabic_indic("4512_215"), "٤٥١٢_٢١٥");
    }
}
