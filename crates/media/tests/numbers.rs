//! Numbers from folder and file names.

mod common;

use athar_media::numbers::{normalize, Scope};
use athar_media::{NumberPatterns, PatternError};

#[test]
fn ascii_names() {
    let p = NumberPatterns::default();
    let l = p.parse("2012/05/03/P1/معتقل 4512 - فرع 215/4512_215_1873-12_02.jpg");
    assert_eq!(l.detainee.as_deref(), Some("4512"));
    assert_eq!(l.branch.as_deref(), Some("215"));
    assert_eq!(l.report.as_deref(), Some("1873/12"));
    assert_eq!(l.photographer.as_deref(), Some("P1"));
    assert_eq!(l.date.as_deref(), Some("2012-05-03"));
    assert_eq!(l.shot, Some(2));
    assert!(l.conflicts.is_empty(), "{:?}", l.conflicts);
    assert_eq!(
        l.raw,
        vec![
            "4512_215_1873-12_02.jpg",
            "معتقل 4512 - فرع 215",
            "2012/05/03/P1"
        ]
    );
}

#[test]
fn arabic_indic_and_eastern_digits() {
    let p = NumberPatterns::default();
    let l = p.parse("2012/07/05/P3/٣٩٣ - ٢١٥ - ٥٩-١٢/٣٩٣_٢١٥_٥٩-١٢_٠٤.jpg");
    assert_eq!(l.detainee.as_deref(), Some("393"));
    assert_eq!(l.branch.as_deref(), Some("215"));
    assert_eq!(l.report.as_deref(), Some("59/12"));
    assert_eq!(l.shot, Some(4));
    // The raw label keeps the digits as written.
    assert_eq!(l.raw[1], "٣٩٣ - ٢١٥ - ٥٩-١٢");
    let l = p.parse("۲۰۱۲/۰۷/۰۵/P3/معتقل ۴۵۱۲ - فرع ۲۲۷/۴۵۱۲-۰۱.jpg");
    assert_eq!(l.detainee.as_deref(), Some("4512"));
    assert_eq!(l.branch.as_deref(), Some("227"));
    assert_eq!(l.date.as_deref(), Some("2012-07-05"));
    assert_eq!(normalize("\u{200F}٤٥\u{0640}١٢"), "4512");
}

#[test]
fn arabic_folder_forms_and_air_force() {
    let p = NumberPatterns::default();
    let cases = [
        (
            "جثة رقم 1068 فرع 215/1068-03.jpg",
            "1068",
            Some("215"),
            None,
        ),
        (
            "معتقل 672 - المخابرات الجوية/672_AFI_174-11_01.jpg",
            "672",
            Some("AFI"),
            Some("174/11"),
        ),
        (
            "3798 - جوية - 2213-12/3798-01.jpg",
            "3798",
            Some("AFI"),
            Some("2213/12"),
        ),
        (
            "جثة رقم 77 المخابرات الجوية (2)/DSCN0001.JPG",
            "77",
            Some("AFI"),
            None,
        ),
        (
            "معتقل 12 - فرع 227 (3)/IMG_0001.JPG",
            "12",
            Some("227"),
            None,
        ),
        (
            "تقرير طبي رقم 1873-12 - معتقل رقم 4512 فرع رقم 235/x.jpg",
            "4512",
            Some("235"),
            Some("1873/12"),
        ),
    ];
    for (path, det, branch, report) in cases {
        let l = p.parse(path);
        assert_eq!(l.detainee.as_deref(), Some(det), "{path}");
        assert_eq!(l.branch.as_deref(), branch, "{path}");
        assert_eq!(l.report.as_deref(), report, "{path}");
    }
}

#[test]
fn names_without_numbers() {
    let p = NumberPatterns::default();
    for path in [
        "2012/05/03/P2/جثة/IMG_1234.JPG",
        "2012/05/03/P2/DSCN0042.JPG",
        "misc/holiday.jpg",
        "",
        "/",
    ] {
        let l = p.parse(path);
        assert!(!l.has_numbers(), "{path}: {l:?}");
    }
    let l = p.parse("2012/05/03/P2/جثة/IMG_1234.JPG");
    assert_eq!(l.photographer.as_deref(), Some("P2"));
}

#[test]
fn conflicts_are_reported() {
    let p = NumberPatterns::default();
    let l = p.parse("معتقل 4512 - فرع 215/4513_215_1873-12_02.jpg");
    assert_eq!(
        l.detainee.as_deref(),
        Some("4513"),
        "the file name is tried first"
    );
    assert_eq!(l.conflicts.len(), 1, "{:?}", l.conflicts);
    assert!(l.conflicts[0].starts_with("detainee: 4513 vs 4512"));
}

#[test]
fn custom_patterns_file() {
    let toml = r#"
version = 1

[[pattern]]
name = "case folder"
scope = "folder"
regex = '^case-(?P<detainee>\d+)-(?P<branch>\d+)$'

[[pattern]]
name = "report file"
scope = "file"
regex = '^r(?P<report>\d+_\d+)\.jpg$'

[[pattern]]
name = "tishreen"
scope = "path"
regex = '(?:^|/)tishreen/'
set = { photographer = "Tishreen team" }
"#;
    let p = NumberPatterns::from_toml(toml).unwrap();
    assert_eq!(p.patterns().len(), 3);
    assert_eq!(p.patterns()[2].scope, Scope::Path);
    let l = p.parse("tishreen/case-٤٥-215/r1873_12.jpg");
    assert_eq!(l.detainee.as_deref(), Some("45"));
    assert_eq!(l.branch.as_deref(), Some("215"));
    assert_eq!(l.report.as_deref(), Some("1873/12"));
    assert_eq!(l.photographer.as_deref(), Some("Tishreen team"));
    assert_eq!(l.matched, vec!["report file", "case folder", "tishreen"]);
    // From a file, too.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("patterns.toml");
    std::fs::write(&f, toml).unwrap();
    assert_eq!(NumberPatterns::from_file(&f).unwrap().patterns().len(), 3);
}

#[test]
fn bad_patterns_files_are_refused() {
    let bad = |t: &str| NumberPatterns::from_toml(t).unwrap_err();
    assert!(matches!(bad("[[pattern]\nname="), PatternError::Toml(_)));
    assert!(matches!(bad("version = 2"), PatternError::Version(2)));
    let re = "[[pattern]]\nname = \"x\"\nscope = \"file\"\nregex = '(?P<detainee>\\d+'";
    assert!(matches!(bad(re), PatternError::Regex { .. }));
    let field = "[[pattern]]\nname = \"x\"\nscope = \"file\"\nregex = '(?P<detaine>\\d+)'";
    assert!(matches!(bad(field), PatternError::UnknownField { .. }));
    let scope = "[[pattern]]\nname = \"x\"\nscope = \"disk\"\nregex = '(?P<detainee>\\d+)'";
    assert!(matches!(bad(scope), PatternError::Toml(_)));
    let empty = "[[pattern]]\nname = \"x\"\nscope = \"file\"\nregex = 'abc'";
    assert!(matches!(bad(empty), PatternError::Empty(_)));
    let dup = "[[pattern]]\nname = \"x\"\nscope = \"file\"\nregex = '(?P<shot>\\d)'\n\
               [[pattern]]\nname = \"x\"\nscope = \"file\"\nregex = '(?P<shot>\\d)'";
    assert!(matches!(bad(dup), PatternError::Duplicate(_)));
    // Messages name the pattern.
    assert!(bad(field).to_string().contains("\"x\""));
}

#[test]
fn default_patterns_parse_the_generated_collection() {
    let dir = common::corpus(60, 21, 64, 64);
    let truth = common::ground_truth(dir.path());
    let p = NumberPatterns::default();
    let (mut named, mut ok) = (0, 0);
    for row in &truth {
        let l = p.parse(&row["path"]);
        assert_eq!(
            l.photographer.as_deref(),
            Some(row["photographer"].as_str())
        );
        let d = &row["datetime_original"];
        let want_date = format!("{}-{}-{}", &d[0..4], &d[5..7], &d[8..10]);
        assert_eq!(
            l.date.as_deref(),
            Some(want_date.as_str()),
            "{}",
            row["path"]
        );
        assert!(l.conflicts.is_empty(), "{}: {:?}", row["path"], l.conflicts);
        if row["names_have_numbers"] == "yes" {
            named += 1;
            let good = l.detainee.as_deref() == Some(row["detainee"].as_str())
                && l.branch.as_deref() == Some(row["branch"].as_str())
                && l.shot.map(|s| s.to_string()) == Some(row["shot"].clone())
                && l.report.as_ref().is_none_or(|r| r == &row["report"]);
            assert!(good, "{}: {l:?}", row["path"]);
            ok += 1;
        } else {
            assert!(!l.has_numbers(), "{}: {l:?}", row["path"]);
        }
    }
    eprintln!(
        "names: {ok}/{named} named body photos parsed exactly; {} photos in all",
        truth.len()
    );
    assert!(named > 100);
}
