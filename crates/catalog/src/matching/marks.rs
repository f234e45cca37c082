//! Distinguishing marks as words: a family writes «وشم نسر على الذراع اليسرى», an
//! investigator "eagle tattoo, left forearm". Both become sets of terms: a small lexicon maps
//! the words of the common marks, body parts and sides, in Arabic, English, French and
//! German, to one concept each; other words are kept in their normalised form (Arabic
//! orthography normalised, clitics and articles removed, a plural s dropped), so a tattooed
//! name or word still meets itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::names::normalize_ar;

/// (concept, the words that say it). Arabic words in normalised spelling (see
/// [`normalize_ar`]), Latin ones in lowercase without accents.
const LEXICON: &[(&str, &[&str])] = &[
    (
        "scar",
        &[
            "scar",
            "scarred",
            "cicatrice",
            "narbe",
            "ندبه",
            "ندب",
            "جرح",
            "اثر",
        ],
    ),
    (
        "burn",
        &[
            "burn",
            "burnt",
            "burned",
            "brulure",
            "verbrennung",
            "حرق",
            "حروق",
            "كي",
        ],
    ),
    (
        "tattoo",
        &[
            "tattoo",
            "tatoo",
            "tatouage",
            "tatowierung",
            "tattowierung",
            "وشم",
            "وشوم",
            "تاتو",
        ],
    ),
    ("mole", &["mole", "شامه", "خال", "grain", "leberfleck"]),
    (
        "birthmark",
        &["birthmark", "وحمه", "muttermal", "naissance"],
    ),
    (
        "missing",
        &[
            "missing",
            "amputated",
            "amputee",
            "lost",
            "مبتور",
            "مقطوع",
            "مفقود",
            "ناقص",
            "manquant",
            "ampute",
            "fehlend",
            "fehlt",
        ],
    ),
    (
        "surgery",
        &[
            "surgical",
            "surgery",
            "operation",
            "operated",
            "عمليه",
            "جراحي",
            "جراحيه",
            "chirurgical",
            "operatoire",
            "ops",
            "operationsnarbe",
        ],
    ),
    (
        "fracture",
        &[
            "fracture",
            "fractured",
            "broken",
            "كسر",
            "مكسور",
            "gebrochen",
            "bruch",
        ],
    ),
    ("gold", &["gold", "golden", "ذهب", "ذهبي", "ذهبيه", "dore"]),
    (
        "left",
        &[
            "left", "يسار", "يسري", "ايسر", "شمال", "gauche", "links", "linke", "linken", "linker",
        ],
    ),
    (
        "right",
        &[
            "right", "يمين", "يمني", "ايمن", "droit", "droite", "rechts", "rechte", "rechten",
            "rechter",
        ],
    ),
    (
        "arm",
        &["arm", "arms", "upper", "ذراع", "زند", "bras", "oberarm"],
    ),
    ("forearm", &["forearm", "ساعد", "avant", "unterarm"]),
    ("hand", &["hand", "يد", "كف", "main"]),
    ("wrist", &["wrist", "معصم", "رسغ", "poignet", "handgelenk"]),
    (
        "finger",
        &["finger", "اصبع", "اصابع", "بنصر", "خنصر", "doigt"],
    ),
    ("leg", &["leg", "ساق", "رجل", "jambe", "bein"]),
    ("thigh", &["thigh", "فخذ", "cuisse", "oberschenkel"]),
    ("knee", &["knee", "ركبه", "genou", "knie"]),
    ("foot", &["foot", "feet", "قدم", "pied", "fuss"]),
    ("shoulder", &["shoulder", "كتف", "epaule", "schulter"]),
    ("chest", &["chest", "صدر", "poitrine", "brust"]),
    ("back", &["back", "ظهر", "dos", "rucken"]),
    (
        "abdomen",
        &["abdomen", "belly", "stomach", "بطن", "ventre", "bauch"],
    ),
    ("face", &["face", "وجه", "visage", "gesicht"]),
    ("cheek", &["cheek", "خد", "وجنه", "joue", "wange"]),
    ("forehead", &["forehead", "جبين", "جبهه", "front", "stirn"]),
    ("eyebrow", &["eyebrow", "حاجب", "sourcil", "augenbraue"]),
    ("eye", &["eye", "عين", "oeil", "auge"]),
    ("neck", &["neck", "رقبه", "عنق", "cou", "hals"]),
    ("chin", &["chin", "ذقن", "menton", "kinn"]),
    ("lip", &["lip", "شفه", "levre", "lippe"]),
    ("nose", &["nose", "انف", "nez", "nase"]),
    ("ear", &["ear", "اذن", "oreille", "ohr"]),
    (
        "tooth",
        &["tooth", "teeth", "سن", "اسنان", "ضرس", "dent", "zahn"],
    ),
    ("heart", &["heart", "قلب", "coeur", "herz"]),
    ("bird", &["bird", "طير", "طائر", "عصفور", "oiseau", "vogel"]),
    ("eagle", &["eagle", "نسر", "عقاب", "aigle", "adler"]),
    ("anchor", &["anchor", "مرساه", "ancre", "anker"]),
    ("star", &["star", "نجمه", "نجم", "etoile", "stern"]),
    (
        "rose",
        &["rose", "flower", "ورده", "زهره", "fleur", "blume"],
    ),
    ("sword", &["sword", "سيف", "epee", "schwert"]),
    (
        "crescent",
        &["crescent", "moon", "هلال", "قمر", "croissant", "halbmond"],
    ),
    ("name", &["name", "اسم", "nom", "initials", "حروف"]),
    ("dot", &["dot", "dots", "نقطه", "نقاط", "point"]),
    ("line", &["line", "lines", "خط", "خطوط", "ligne", "linie"]),
];

/// Words that say nothing about which mark it is.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "on",
    "in",
    "at",
    "with",
    "near",
    "and",
    "his",
    "her",
    "small",
    "large",
    "big",
    "long",
    "short",
    "old",
    "side",
    "visible",
    "has",
    "had",
    "one",
    "two",
    "le",
    "la",
    "les",
    "de",
    "du",
    "des",
    "un",
    "une",
    "au",
    "sur",
    "sa",
    "son",
    "et",
    "pres",
    "der",
    "die",
    "das",
    "den",
    "dem",
    "ein",
    "eine",
    "einer",
    "am",
    "auf",
    "mit",
    "und",
    "seiner",
    "seinem",
    "kleine",
    "kleiner",
    "grosse",
    "على",
    "في",
    "من",
    "مع",
    "عند",
    "فوق",
    "تحت",
    "صغير",
    "صغيره",
    "كبير",
    "كبيره",
    "لديه",
    "له",
    "عليه",
    "قديم",
    "قديمه",
    "واضح",
    "جهه",
    "طرف",
];

fn lexicon() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (concept, words) in LEXICON {
            for w in *words {
                m.insert(*w, *concept);
            }
        }
        m
    })
}

fn strip_arabic_clitics(w: &str) -> &str {
    // و (and), ب (in/with), ف, ك, ل joined to the article, then the article itself.
    for p in ["وال", "بال", "فال", "كال", "لل", "ال"] {
        if let Some(rest) = w.strip_prefix(p) {
            if rest.chars().count() >= 2 {
                return rest;
            }
        }
    }
    w
}

fn fold_accents(w: &str) -> String {
    w.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ß' => 's',
            c => c,
        })
        .collect()
}

/// The terms of a mark's description: lexicon concepts ("c:tattoo") and other words by
/// their transliteration key ("w:smr"), without duplicates, in order of appearance.
pub fn terms(text: &str) -> Vec<String> {
    let lex = lexicon();
    let mut out: Vec<String> = Vec::new();
    for raw in normalize_ar(text).split(' ') {
        let mut w = fold_accents(raw);
        if w.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
            if !lex.contains_key(w.as_str()) {
                w = strip_arabic_clitics(&w).to_string();
            }
        } else if !lex.contains_key(w.as_str()) && w.len() > 4 && w.ends_with('s') {
            w.pop();
        }
        if w.is_empty() || STOP.contains(&w.as_str()) || w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let term = match lex.get(w.as_str()) {
            Some(c) => format!("c:{c}"),
            // Other words by their transliteration key, so a tattooed name written
            // «سميرة» meets "Samira".
            None if w.chars().count() >= 2 => match super::names::latin_key(&w) {
                k if k.is_empty() => continue,
                k => format!("w:{k}"),
            },
            None => continue,
        };
        if !out.contains(&term) {
            out.push(term);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_mark_in_arabic_english_french_german() {
        let en = terms("Eagle tattoo on the left forearm");
        let ar = terms("وشم نسر على الساعد الأيسر");
        let fr = terms("tatouage d'aigle sur l'avant-bras gauche");
        let de = terms("Adler-Tätowierung am linken Unterarm");
        for t in ["c:tattoo", "c:eagle", "c:left", "c:forearm"] {
            assert!(en.contains(&t.to_string()), "{en:?}");
            assert!(ar.contains(&t.to_string()), "{ar:?}");
            assert!(fr.contains(&t.to_string()), "{fr:?}");
            assert!(de.contains(&t.to_string()), "{de:?}");
        }
    }

    #[test]
    fn unknown_words_are_kept_and_normalised() {
        assert_eq!(
            terms("وشم اسم «سميرة»"),
            vec!["c:tattoo", "c:name", "w:smr"]
        );
        assert_eq!(
            terms("tattoo of the name Samira"),
            vec!["c:tattoo", "c:name", "w:smr"]
        );
        assert_eq!(
            terms("Scars on both knees"),
            vec!["c:scar", "w:bt", "c:knee"]
        );
    }
}
