//! The card reader on photos rendered by athar-corpus: every card with
//! numbers is read back, blank cards are seen as blank, and the font and
//! layout agree with the generator's.

mod common;

use athar_media::card::{self, FONT};
use athar_media::{analyze, AnalyzeOptions};

#[test]
fn font_and_layout_match_the_generator() {
    use athar_corpus::{card as cc, font as cf};
    assert_eq!(FONT.len(), cf::CHARSET.len());
    for (i, (c, rows)) in FONT.iter().enumerate() {
        assert_eq!(*c, cf::CHARSET[i]);
        for (r, row) in rows.iter().enumerate() {
            for (col, ch) in row.chars().enumerate() {
                assert_eq!(
                    ch == '#',
                    cf::dot(&cf::GLYPHS[i], col, r),
                    "{c} ({col},{r})"
                );
            }
        }
    }
    assert_eq!((card::GLYPH_W, card::GLYPH_H), (cf::GLYPH_W, cf::GLYPH_H));
    assert_eq!((card::CARD_W, card::CARD_H), (cc::CARD_W, cc::CARD_H));
    assert_eq!(
        (card::MARGIN_X, card::MARGIN_Y),
        (cc::MARGIN_X, cc::MARGIN_Y)
    );
    assert_eq!(
        (
            card::CHAR_ADVANCE,
            card::LINE_ADVANCE,
            card::MAX_CHARS,
            card::LINES
        ),
        (cc::CHAR_ADVANCE, cc::LINE_ADVANCE, cc::MAX_CHARS, cc::LINES)
    );
}

#[test]
fn reads_cards_on_generated_photos() {
    let dir = common::corpus(16, 3, 1600, 1200);
    let truth = common::ground_truth(dir.path());
    let opts = AnalyzeOptions {
        read_card: true,
        derivatives: false,
        ..Default::default()
    };
    let (mut numbered, mut read_ok, mut blank, mut blank_ok, mut none, mut none_ok) =
        (0, 0, 0, 0, 0, 0);
    let mut distractors = 0;
    let mut distractor_numbers = 0;
    let mut failures = Vec::new();
    let (mut residuals, mut confidences) = (Vec::new(), Vec::new());
    for row in &truth {
        let bytes = std::fs::read(dir.path().join(&row["path"])).unwrap();
        let a = analyze(&bytes, &opts);
        let c = a.card.as_ref();
        match row["card"].as_str() {
            "numbers" => {
                numbered += 1;
                let branch = (row["branch"] != "AFI").then(|| row["branch"].clone());
                let ok = c.is_some_and(|c| {
                    c.detainee.as_deref() == Some(row["detainee"].as_str())
                        && c.branch == branch
                        && c.report.as_deref() == Some(row["report"].as_str())
                });
                if let Some(c) = c {
                    residuals.push(c.residual);
                    confidences.push(c.confidence);
                }
                if ok {
                    read_ok += 1;
                } else {
                    failures.push(format!("{}: {:?}", row["path"], c.map(|c| &c.lines)));
                }
            }
            "blank" => {
                blank += 1;
                if c.is_some_and(|c| c.is_blank()) {
                    blank_ok += 1;
                } else {
                    failures.push(format!(
                        "blank {}: {:?}",
                        row["path"],
                        c.map(|c| (&c.lines, c.confidence, c.residual))
                    ));
                }
            }
            "absent" => {
                none += 1;
                none_ok += c.is_none_or(|c| c.detainee.is_none()) as usize;
            }
            _ => {
                distractors += 1;
                if c.is_some_and(|c| c.detainee.is_some()) {
                    distractor_numbers += 1;
                    failures.push(format!(
                        "distractor {}: {:?}",
                        row["path"],
                        c.map(|c| (&c.lines, c.confidence, c.residual))
                    ));
                }
            }
        }
    }
    eprintln!(
        "card reading: {read_ok}/{numbered} numbered cards read exactly; \
         {blank_ok}/{blank} blank cards seen as blank; {none_ok}/{none} photos without a card gave no numbers; \
         {distractor_numbers}/{distractors} distractors gave numbers"
    );
    residuals.sort_by(f32::total_cmp);
    confidences.sort_by(f32::total_cmp);
    if let (Some(r), Some(c)) = (residuals.last(), confidences.first()) {
        eprintln!(
            "worst residual of a read card {r:.5} (limit {}), lowest confidence {c:.2}",
            card::MAX_RESIDUAL
        );
    }
    for f in &failures {
        eprintln!("  miss: {f}");
    }
    assert!(numbered > 30, "{numbered}");
    assert!(read_ok * 100 >= numbered * 95, "{read_ok}/{numbered}");
    assert_eq!(none_ok, none);
    assert_eq!(distractor_numbers, 0);
}
