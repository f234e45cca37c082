//! Card-reading accuracy on a generated collection (athar-corpus layout,
//! with `ground_truth.csv`).
//!
//! `cargo run --release -p athar-media --example card_accuracy -- DIR`
use athar_media::{analyze, AnalyzeOptions};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("DIR"));
    let text = std::fs::read_to_string(dir.join("ground_truth.csv")).expect("ground_truth.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (path, card, det, br, rep, names) = (
        col("path"),
        col("card"),
        col("detainee"),
        col("branch"),
        col("report"),
        col("names_have_numbers"),
    );
    let opts = AnalyzeOptions {
        read_card: true,
        derivatives: false,
        hashes: false,
        ..Default::default()
    };
    let (
        mut n,
        mut ok,
        mut card_only,
        mut card_only_ok,
        mut blank,
        mut blank_ok,
        mut other,
        mut other_false,
    ) = (0, 0, 0, 0, 0, 0, 0, 0);
    for l in lines.filter(|l| !l.is_empty()) {
        // Paths hold no commas in generated collections.
        let f: Vec<&str> = l.split(',').collect();
        let bytes = std::fs::read(dir.join(f[path])).unwrap();
        let c = analyze(&bytes, &opts).card;
        match f[card] {
            "numbers" => {
                n += 1;
                let branch = (f[br] != "AFI").then_some(f[br]);
                let good = c.as_ref().is_some_and(|c| {
                    c.detainee.as_deref() == Some(f[det])
                        && c.branch.as_deref() == branch
                        && c.report.as_deref() == Some(f[rep])
                });
                ok += good as usize;
                if f[names] == "card_only" {
                    card_only += 1;
                    card_only_ok += good as usize;
                }
                if !good {
                    // What the reader makes of it without the cheap gate in front.
                    let direct = athar_media::decode_reduced(&bytes, athar_media::card::MIN_WIDTH)
                        .ok()
                        .and_then(|d| athar_media::card::read_card(&d.image));
                    println!(
                        "miss: {} -> {:?} (reader alone: {:?})",
                        f[path],
                        c.map(|c| c.lines),
                        direct.map(|c| c.lines)
                    );
                }
            }
            "blank" => {
                blank += 1;
                blank_ok += c.is_some_and(|c| c.is_blank()) as usize;
            }
            _ => {
                other += 1;
                other_false += c.is_some_and(|c| c.detainee.is_some()) as usize;
            }
        }
    }
    println!(
        "cards with numbers read exactly: {ok}/{n} ({:.1}%), of which card-only bodies {card_only_ok}/{card_only}; \
         blank cards seen blank {blank_ok}/{blank}; photos without a card giving numbers {other_false}/{other}",
        100.0 * ok as f64 / n.max(1) as f64
    );
}
