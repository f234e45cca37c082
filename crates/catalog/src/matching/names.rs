//! Names as families write them: in Arabic script with or without diacritics, and in Latin
//! letters in whatever transliteration they learned (English, French, German, ad hoc).
//!
//! Three layers:
//! - [`normalize_ar`] removes what Arabic orthography lets vary without changing the name:
//!   diacritics (tashkeel) and tatweel, the alef forms (أ إ آ ٱ → ا), hamza carriers
//!   (ؤ → و, ئ → ي, ء dropped), ta marbuta (ة → ه), alif maqsura (ى → ي); and lowercases Latin.
//! - [`words`] splits a name into name words: the article (al-, el-, ال) is dropped, and
//!   compounds are joined: "Abd al-Rahman" = "Abdulrahman" = "عبد الرحمن" is one word, as is
//!   "Abu Bakr" = "Abou Bakr" = "أبو بكر", and "Nour al-Din" = "Nureddin".
//! - [`latin_key`] is a consonant skeleton that both scripts map to, so that Arabic and Latin
//!   spellings meet: محمد = Mohammad = Muhammad = Mohamed = Mohammed → "mhmd". Short vowels,
//!   which Arabic does not write, and long vowels, which Latin spells many ways, are left out;
//!   digraphs (kh, sh, gh, th, dh, ch, dj, ou, ee …) and doubled letters are folded.
//!
//! The skeleton is lenient: حسن (Hassan) and حسين (Hussein) share it. When both spellings are
//! in the same script, [`same_name`] uses a finer comparison that keeps them apart.

/// Arabic orthographic normalisation (and lowercase for Latin letters), words separated by
/// single spaces. Arabic-Indic digits become ASCII.
pub fn normalize_ar(s: &str) -> String {
    let folded = athar_media::numbers::normalize(s);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        match c {
            // tashkeel, Quranic marks, superscript alef; tatweel
            '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => {}
            '\u{06D6}'..='\u{06ED}' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ؤ' => out.push('و'),
            'ئ' => out.push('ي'),
            'ء' => {}
            'ة' => out.push('ه'),
            'ى' | 'ی' => out.push('ي'),
            'ک' => out.push('ك'),
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_arabic(c: char) -> bool {
    ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{0750}'..='\u{077F}').contains(&c)
}

/// Latin letters with their diacritics removed, transliteration marks (ʿ ʾ ' ’) dropped.
fn fold_latin(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ā' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'ō' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
            'ḥ' | 'ḫ' => 'h',
            'ṣ' | 'š' => 's',
            'ḍ' | 'ḏ' => 'd',
            'ṭ' | 'ṯ' => 't',
            'ẓ' | 'ž' => 'z',
            'ġ' | 'ǧ' => 'g',
            'ç' => 's',
            'ʿ' | 'ʾ' | '\'' | '’' | '‘' | '`' | 'ʼ' => continue,
            c => c,
        };
        out.push(c);
    }
    out
}

const LATIN_ARTICLES: [&str; 13] = [
    "al", "el", "ul", "il", "ar", "ad", "as", "an", "at", "az", "ash", "adh", "ed",
];
const ABD_PREFIXES: [&str; 8] = [
    "abdoul", "abdul", "abdel", "abdal", "abdol", "abdur", "abdu", "abd",
];
const ABU_FORMS: [&str; 4] = ["abu", "abou", "abo", "aboo"];
const DIN_SUFFIXES: [&str; 8] = [
    "eddine", "eddin", "uddin", "uddeen", "addin", "iddin", "aldin", "eldin",
];

fn strip_ar_article(w: &str) -> &str {
    match w.strip_prefix("ال") {
        Some(rest) if rest.chars().count() >= 2 => rest,
        _ => w,
    }
}

/// The name words of a name or of several names: normalised, articles dropped, compounds
/// (Abd …, Abu …, … al-Din) joined into one word.
pub fn words(s: &str) -> Vec<String> {
    let norm = fold_latin(&normalize_ar(&s.replace(['-', '_'], " ")));
    let raw: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i];
        let arabic = w.chars().any(is_arabic);
        let next_name = |mut j: usize| -> Option<(usize, String)> {
            // Skip a free-standing article between the parts of a compound.
            while j < raw.len() && !arabic && LATIN_ARTICLES.contains(&raw[j]) {
                j += 1;
            }
            let n = raw.get(j)?;
            let n = if n.chars().any(is_arabic) {
                strip_ar_article(n).to_string()
            } else {
                n.to_string()
            };
            Some((j, n))
        };
        if w == "عبد"
            || w == "ابو"
            || ABU_FORMS.contains(&w)
            || (!arabic && w == "abd")
            || (!arabic && ABD_PREFIXES.contains(&w))
        {
            if let Some((j, n)) = next_name(i + 1) {
                let head = if w == "عبد" || w == "ابو" {
                    w.to_string()
                } else if ABU_FORMS.contains(&w) {
                    "abu".to_string()
                } else {
                    "abd".to_string()
                };
                out.push(format!("{head}{n}"));
                i = j + 1;
                continue;
            }
        }
        // "al"/"el" before a name: the article alone is not a name word.
        if !arabic && LATIN_ARTICLES.contains(&w) && i + 1 < raw.len() {
            i += 1;
            continue;
        }
        // "... al-Din" / "الدين" joins the word before it.
        let is_din =
            matches!(w, "din" | "deen" | "dine" | "الدين" | "دين") || DIN_SUFFIXES.contains(&w);
        if is_din && !out.is_empty() {
            let last = out.pop().expect("checked");
            out.push(format!("{last}{}", if arabic { "دين" } else { "din" }));
            i += 1;
            continue;
        }
        let w = if arabic {
            match w.strip_prefix("عبدال") {
                Some(rest) if rest.chars().count() >= 2 => format!("عبد{rest}"),
                _ => strip_ar_article(w).to_string(),
            }
        } else {
            let mut w = w.to_string();
            for p in ABD_PREFIXES.iter().take(7) {
                if let Some(rest) = w.strip_prefix(p) {
                    if rest.len() >= 2 {
                        w = format!("abd{rest}");
                        break;
                    }
                }
            }
            for s in DIN_SUFFIXES {
                if let Some(stem) = w.strip_suffix(s) {
                    if stem.len() >= 2 {
                        w = format!("{stem}din");
                        break;
                    }
                }
            }
            w
        };
        out.push(w);
        i += 1;
    }
    out
}

/// The consonant skeleton of one normalised word in Arabic script.
fn arabic_skeleton(w: &str) -> String {
    let chars: Vec<char> = w.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let last = i + 1 == chars.len();
        let s = match c {
            'ب' => "b",
            'ت' | 'ط' | 'ث' => "t",
            'ج' => "j",
            'ح' => "h",
            'خ' => "kh",
            'د' | 'ذ' | 'ض' => "d",
            'ر' => "r",
            'ز' | 'ظ' => "z",
            'س' | 'ص' => "s",
            'ش' => "sh",
            'غ' => "gh",
            'ف' => "f",
            'ق' | 'ك' => "k",
            'ل' => "l",
            'م' => "m",
            'ن' => "n",
            // final ه is nearly always ta marbuta or the h of Allah, which Latin drops or
            // writes after an a ("Fatima", "Abdullah"); see latin_skeleton
            'ه' if last && i > 0 => "",
            'ه' => "h",
            'و' if i == 0 => "w",
            'ي' if i == 0 => "y",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(s);
    }
    out
}

/// The consonant skeleton of one normalised word in Latin letters. `fine` keeps a slot (".")
/// where vowels were and the y of a diphthong (ay, ai, ei, ey), which tells Hussein from
/// Hassan and Mahmoud from Mohammed when both spellings are in Latin letters.
fn latin_skeleton(w: &str, fine: bool) -> String {
    let b: Vec<char> = w.chars().collect();
    let vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u');
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let two = |x: char| next == Some(x);
        let (s, step): (&str, usize) = match c {
            's' if two('c') && b.get(i + 2) == Some(&'h') => ("sh", 3),
            's' if two('h') => ("sh", 2),
            'c' if two('h') => ("sh", 2),
            'k' if two('h') => ("kh", 2),
            'g' if two('h') => ("gh", 2),
            't' if two('h') => ("t", 2),
            'd' if two('h') => ("d", 2),
            'd' if two('j') => ("j", 2),
            'p' if two('h') => ("f", 2),
            'c' if two('k') => ("k", 2),
            'a' | 'e' if fine && (two('y') || two('i')) && i + 2 < b.len() => ("y", 2),
            // final "ah": the ta marbuta or the h of Allah
            'h' if i + 1 == b.len() && i > 0 && b[i - 1] == 'a' => ("", 1),
            'y' | 'w' if i == 0 => (if c == 'y' { "y" } else { "w" }, 1),
            'y' | 'w' => (if fine { "." } else { "" }, 1),
            c if vowel(c) => (if fine { "." } else { "" }, 1),
            'q' | 'c' => ("k", 1),
            'g' => ("j", 1),
            'p' => ("b", 1),
            'v' => ("f", 1),
            'x' => ("ks", 1),
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                i += 1;
                continue;
            }
            _ => ("", 1),
        };
        out.push_str(s);
        i += step;
    }
    out
}

fn collapse_doubles(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

fn word_key(w: &str, fine: bool) -> String {
    let sk = if w.chars().any(is_arabic) {
        arabic_skeleton(w)
    } else {
        latin_skeleton(w, fine)
    };
    collapse_doubles(&sk)
}

/// The transliteration key of a name, in either script: the skeletons of its name words,
/// joined by spaces. Arabic and Latin spellings of the same name have the same key.
pub fn latin_key(s: &str) -> String {
    name_keys(s).join(" ")
}

/// The keys of each name word of `s` (see [`latin_key`]); empty words are left out.
pub fn name_keys(s: &str) -> Vec<String> {
    words(s)
        .iter()
        .map(|w| word_key(w, false))
        .filter(|k| !k.is_empty())
        .collect()
}

fn script_of(s: &str) -> Option<bool> {
    let arabic = s.chars().any(is_arabic);
    let latin = s.chars().any(|c| c.is_ascii_alphabetic());
    match (arabic, latin) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Are `a` and `b` spellings of the same name? Across scripts the transliteration keys must
/// be equal; within Arabic script the normalised words; within Latin letters the finer key.
pub fn same_name(a: &str, b: &str) -> bool {
    let (wa, wb) = (words(a), words(b));
    !wa.is_empty()
        && wa.len() == wb.len()
        && wa.iter().zip(&wb).all(|(x, y)| word_similarity(x, y) > 0.0)
}

/// How surely two name words (from [`words`]) are one name: 1.0 when the same script says so
/// (normalised Arabic equal, or the finer Latin key equal), 0.8 when only the
/// transliteration key across scripts does (حسين could be written "Hassan" by someone), else 0.
pub fn word_similarity(a: &str, b: &str) -> f64 {
    if word_key(a, false) != word_key(b, false) || word_key(a, false).is_empty() {
        return 0.0;
    }
    match (script_of(a), script_of(b)) {
        (Some(true), Some(true)) => f64::from(u8::from(a == b)),
        (Some(false), Some(false)) => f64::from(u8::from(word_key(a, true) == word_key(b, true))),
        _ => 0.8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_same(names: &[&str]) {
        for a in names {
            for b in names {
                assert!(
                    same_name(a, b),
                    "{a:?} and {b:?} should be the same name (keys {:?} / {:?})",
                    latin_key(a),
                    latin_key(b)
                );
            }
        }
    }

    #[test]
    fn muhammad_in_every_spelling() {
        all_same(&[
            "محمد",
            "مُحَمَّد",
            "مـحـمـد",
            "Mohammad",
            "Muhammad",
            "Mohamed",
            "Mohammed",
            "Muhammed",
            "Mohamad",
            "Mouhamad",
            "Muḥammad",
        ]);
    }

    #[test]
    fn common_names_meet_across_scripts() {
        all_same(&[
            "Abdulrahman",
            "Abd al-Rahman",
            "عبد الرحمن",
            "عبدالرحمن",
            "Abdel Rahman",
            "Abdelrahman",
            "Abd el-Rahman",
            "Abdurrahman",
            "ʿAbd al-Raḥmān",
        ]);
        all_same(&["Yousef", "Youssef", "Yusuf", "يوسف", "Yousuf", "Yosef"]);
        all_same(&[
            "Hussein", "Husayn", "حسين", "Hussain", "Husein", "Houssein", "Hussayn",
        ]);
        all_same(&["Khaled", "Khalid", "خالد", "Khâlid", "Khaaled"]);
        all_same(&["Ahmad", "Ahmed", "أحمد", "احمد", "إحمد"]);
        all_same(&["Abdullah", "Abdallah", "Abdalla", "عبد الله", "عبدالله"]);
        all_same(&["Fatima", "Fatimah", "Faatima", "فاطمة", "فاطمه"]);
        all_same(&["Osama", "Usama", "Ousama", "أسامة", "اسامه"]);
        all_same(&["Omar", "Umar", "عمر"]);
        all_same(&["Mustafa", "Moustafa", "Mostafa", "مصطفى", "مصطفي"]);
        all_same(&["Ibrahim", "Ebrahim", "إبراهيم", "ابراهيم"]);
        all_same(&["Ayman", "Aiman", "أيمن"]);
        all_same(&["Zainab", "Zaynab", "Zeinab", "زينب"]);
        all_same(&["Qasim", "Kassem", "Qassim", "قاسم"]);
        all_same(&["Shadi", "Chadi", "Schadi", "شادي"]);
        all_same(&["Jamal", "Djamal", "جمال"]);
        all_same(&["Saleh", "Salih", "صالح"]);
        all_same(&["Ishaq", "إسحاق"]);
        all_same(&["Marwan", "مروان"]);
        all_same(&["Wael", "وائل"]);
        all_same(&["Abu Bakr", "Abou Bakr", "أبو بكر", "ابو بكر", "Abu-Bakr"]);
        all_same(&[
            "Nour al-Din",
            "Nureddin",
            "Nour Eddine",
            "نور الدين",
            "Noureddin",
        ]);
        all_same(&["al-Halabi", "Al Halabi", "el-Halabi", "الحلبي", "Halabi"]);
    }

    #[test]
    fn different_names_stay_apart() {
        for (a, b) in [
            ("Hassan", "Hussein"),
            ("حسن", "حسين"),
            ("Mahmoud", "Mohammed"),
            ("Khaled", "Khalil"),
            ("Yousef", "Younes"),
            ("Ahmad", "Hamad"),
            ("Abdulrahman", "Abdulrahim"),
            ("عبد الله", "عبد الرحمن"),
        ] {
            assert!(!same_name(a, b), "{a:?} and {b:?} are different names");
        }
    }

    #[test]
    fn normalisation_of_arabic_orthography() {
        assert_eq!(normalize_ar("مُحَمَّـــد"), "محمد");
        assert_eq!(normalize_ar("أإآٱ"), "اااا");
        assert_eq!(normalize_ar("مؤمن رائد"), "مومن رايد");
        assert_eq!(normalize_ar("فاطمة"), "فاطمه");
        assert_eq!(normalize_ar("مصطفى"), "مصطفي");
        assert_eq!(normalize_ar("  Hello,   World "), "hello world");
        assert_eq!(normalize_ar("رقم ٢١٥"), "رقم 215");
    }

    #[test]
    fn prefixes_and_compounds_become_one_word() {
        assert_eq!(
            words("Abd al-Rahman al-Halabi"),
            vec!["abdrahman", "halabi"]
        );
        assert_eq!(words("عبد الرحمن الحلبي"), vec!["عبدرحمن", "حلبي"]);
        assert_eq!(words("Abou Ahmad"), vec!["abuahmad"]);
        assert_eq!(latin_key("Mohammed Khaled al-Hussein"), "mhmd khld hsn");
        assert_eq!(latin_key("محمد خالد الحسين"), "mhmd khld hsn");
    }
}
