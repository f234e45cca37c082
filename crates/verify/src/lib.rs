//! athar-verify: checks an athar evidence package offline, with nothing of athar's own code.
//!
//! Read in this order: [`verify`] below (the whole procedure on one screen), then `bagit`
//! (the bag), `evidence` (signatures, events, proofs, checkpoints) and `crypto` (SHA-256
//! Merkle trees, Ed25519, signed notes). The formats: docs/formats/package.md, events.md and
//! checkpoint.md in the athar repository.

mod bagit;
mod crypto;
mod evidence;

use std::path::{Path, PathBuf};

/// What to check besides the package itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A checkpoint the archive published earlier: the package's log must extend it.
    pub published_checkpoint: Option<PathBuf>,
    /// The archive's key as the user obtained it elsewhere (`NAME+HASH+KEY`).
    pub key: Option<String>,
}

/// One problem: which part of the package, which file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub part: String,
    pub file: String,
    pub problem: String,
}

#[derive(Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, part: &str, file: &str, problem: &str) {
        self.0.push(Finding {
            part: part.into(),
            file: file.into(),
            problem: problem.into(),
        });
    }
    fn none<T>(&mut self, part: &str, file: &str, problem: &str) -> Option<T> {
        self.add(part, file, problem);
        None
    }
}

/// Facts established on the way, for the verdict.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub package: String,
    pub originals: usize,
    pub derivatives: usize,
    pub events: usize,
    pub archive_key: String,
    pub log: String,
    pub checkpoint_size: u64,
    pub checkpoint_root: String,
    pub bag_count: Option<String>,
    pub published_size: Option<u64>,
}

pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Check everything; collect every problem rather than stop at the first.
pub fn verify(dir: &Path, opts: &Options) -> Report {
    let mut f = Findings::default();
    let mut s = Summary::default();
    let bag = bagit::check(dir, &mut f);
    s.bag_count = bagit::value(&bag.info, "Bag-Count").map(str::to_string);
    if let Some(key) = evidence::keys(dir, opts.key.as_deref(), &mut f) {
        s.archive_key = format!("{}+{}", key.name, crypto::hex(&key.id));
        s.log = key.name.clone();
        evidence::signature(dir, &key, &mut f);
        if let Some(cp) = evidence::checkpoint(dir, &key, &mut f) {
            s.checkpoint_size = cp.1.size;
            s.checkpoint_root = crypto::b64_encode(&cp.1.root);
            evidence::items(dir, &bag, &key, &cp, &mut s, &mut f);
            if let Some(file) = &opts.published_checkpoint {
                s.published_size = evidence::published(dir, file, &key, &cp.1, &mut f);
            }
        }
    }
    Report {
        findings: f.0,
        summary: s,
    }
}

/// The verdict in plain English, then Arabic.
pub fn verdict(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    if r.ok() {
        out += &format!(
            "VERDICT: the package is intact and authentic.\n\
             - {} original file(s) and {} derivative(s): every byte matches the SHA-256 recorded for it.\n\
             - {} custody event(s): each is signed by the archive key {} and is in the archive's log,\n  \
               proven against its signed checkpoint (log {}, {} events, root {}).\n\
             - The bag and its tag manifest are complete, and the archive key signed the tag manifest.\n",
            s.originals, s.derivatives, s.events, s.archive_key, s.log, s.checkpoint_size, s.checkpoint_root
        );
        if let Some(n) = s.published_size {
            out += &format!("- The checkpoint you gave (log size {n}) is consistent with the package: the log has only grown since it was published.\n");
        } else {
            out += "- Not shown: that this key is the archive's. Compare the key above with the one the archive\n  \
                    published, or run again with --checkpoint PUBLISHED_CHECKPOINT or --key KEY.\n";
        }
        if let Some(c) = &s.bag_count {
            out += &format!("- This is bag {c} of a set; check the other bags too.\n");
        }
        out += &format!(
            "\nالحكم: الحزمة سليمة وأصلية.\n\
             - {} ملفًا أصليًا و{} ملفًا مشتقًا: كل بايت يطابق بصمة SHA-256 المسجلة له.\n\
             - {} حدث حيازة: كل منها موقّع بمفتاح الأرشيف {} وموجود في سجل الأرشيف،\n  \
               ومُثبت مقابل نقطة التحقق الموقّعة (السجل {}، {} حدثًا).\n\
             - الحقيبة وبيان ملفاتها كاملة، وبيان الملفات موقّع بمفتاح الأرشيف.\n",
            s.originals, s.derivatives, s.events, s.archive_key, s.log, s.checkpoint_size
        );
        if let Some(n) = s.published_size {
            out += &format!("- نقطة التحقق التي قدّمتها (حجم السجل {n}) متسقة مع الحزمة: السجل لم يتغير منذ نشرها، بل زاد فقط.\n");
        } else {
            out += "- لم يثبت بعد أن هذا المفتاح هو مفتاح الأرشيف: قارنه بالمفتاح الذي نشره الأرشيف، أو أعد التشغيل مع\n  \
                    --checkpoint ونقطة تحقق منشورة، أو مع --key.\n";
        }
    } else {
        out += &format!(
            "VERDICT: the package FAILS verification: {} problem(s). Do not rely on it until each is explained.\n",
            r.findings.len()
        );
        for p in &r.findings {
            out += &format!("  [{}] {}: {}\n", p.part, p.file, p.problem);
        }
        out += &format!(
            "\nالحكم: فشل التحقق من الحزمة: {} مشكلة. لا يُعتمد عليها قبل تفسير كل مشكلة.\n",
            r.findings.len()
        );
        for p in &r.findings {
            out += &format!("  [{}] {}\n", arabic_part(&p.part), p.file);
        }
    }
    out
}

fn arabic_part(part: &str) -> &'static str {
    match part {
        "data file" => "ملف بيانات تغيّر",
        "tag file" => "ملف وصفي تغيّر",
        "missing file" => "ملف مفقود",
        "extra file" => "ملف زائد",
        "manifest" | "tag manifest" => "بيان الملفات",
        "bag-info" => "معلومات الحقيبة",
        "bagit.txt" => "إعلان الحقيبة",
        "signature" => "التوقيع",
        "public key" => "المفتاح العام",
        "checkpoint" => "نقطة التحقق",
        "published checkpoint" => "نقطة التحقق المنشورة",
        "event" => "حدث حيازة",
        "proof" => "برهان",
        _ => "فهرس الحزمة",
    }
}
