//! Detainee, branch and forensic-report numbers, photographer and date,
//! parsed from folder and file names with named regular expressions kept in
//! a TOML file (format: `docs/formats/media.md`; the default ships inside
//! the crate).

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The default patterns file (also in the source tree as
/// `src/default_patterns.toml`).
pub const DEFAULT_PATTERNS: &str = include_str!("default_patterns.toml");

/// Capture-group names (and `set` keys) a pattern may use.
pub const FIELDS: [&str; 11] = [
    "detainee",
    "branch",
    "report",
    "report_no",
    "report_year",
    "photographer",
    "hospital",
    "year",
    "month",
    "day",
    "shot",
];

/// Where a pattern is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each folder name on its own.
    Folder,
    /// The file name (with extension).
    File,
    /// The whole `/`-separated relative path.
    Path,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternsFile {
    version: Option<u32>,
    #[serde(default, rename = "pattern")]
    patterns: Vec<PatternDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternDef {
    name: String,
    scope: Scope,
    regex: String,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub name: String,
    pub scope: Scope,
    pub regex: Regex,
    /// Constant values set when the pattern matches.
    pub set: BTreeMap<String, String>,
}

/// Why a patterns file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("patterns file is not valid TOML: {0}")]
    Toml(String),
    #[error("unsupported patterns file version {0} (this reader knows 1)")]
    Version(u32),
    #[error("pattern {name:?}: invalid regex: {message}")]
    Regex { name: String, message: String },
    #[error("pattern {name:?}: unknown field {field:?} (known: {known})", known = FIELDS.join(", "))]
    UnknownField { name: String, field: String },
    #[error("pattern {0:?}: it captures nothing and sets nothing")]
    Empty(String),
    #[error("two patterns are named {0:?}")]
    Duplicate(String),
}

/// What names say about a photo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Labels {
    /// Detainee number, ASCII digits.
    pub detainee: Option<String>,
    /// Branch number, ASCII digits, or a constant such as `AFI`.
    pub branch: Option<String>,
    /// Forensic report number, `number/yy` when the year is known.
    pub report: Option<String>,
    pub photographer: Option<String>,
    /// Where the body was documented (e.g. "601", "Tishreen"), when a pattern says so.
    pub hospital: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Shot number within the body.
    pub shot: Option<u32>,
    /// The label texts that matched, exactly as written (folder and file
    /// names; for path patterns the matched text after normalisation).
    pub raw: Vec<String>,
    /// Names of the patterns that matched.
    pub matched: Vec<String>,
    /// Disagreements: `field: kept value vs other value (pattern)`.
    pub conflicts: Vec<String>,
}

impl Labels {
    /// Whether any of detainee, branch or report was found.
    pub fn has_numbers(&self) -> bool {
        self.detainee.is_some() || self.branch.is_some() || self.report.is_some()
    }

    fn put(&mut self, field: &str, value: String, pattern: &str) {
        let slot = match field {
            "detainee" => &mut self.detainee,
            "branch" => &mut self.branch,
            "report" => &mut self.report,
            "photographer" => &mut self.photographer,
            "hospital" => &mut self.hospital,
            "date" => &mut self.date,
            "shot" => {
                if let Ok(n) = value.parse::<u32>() {
                    match self.shot {
                        None => self.shot = Some(n),
                        Some(k) if k != n => {
                            self.conflicts.push(format!("shot: {k} vs {n} ({pattern})"))
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => return,
        };
        match slot {
            None => *slot = Some(value),
            Some(v) if *v != value => {
                let head = format!("{field}: {v} vs {value} ");
                if !self.conflicts.iter().any(|c| c.starts_with(&head)) {
                    self.conflicts.push(format!("{head}({pattern})"));
                }
            }
            _ => {}
        }
    }
}

/// Map Arabic-Indic and Eastern Arabic-Indic digits to ASCII, drop bidi
/// controls and the tatweel, turn no-break spaces into spaces.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from_u32('0' as u32 + (c as u32 - 0x0660)),
            '\u{06F0}'..='\u{06F9}' => char::from_u32('0' as u32 + (c as u32 - 0x06F0)),
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{0640}' => None,
            '\u{00A0}' | '\u{202F}' => Some(' '),
            c => Some(c),
        })
        .collect()
}

/// A set of named patterns.
#[derive(Debug, Clone)]
pub struct NumberPatterns {
    patterns: Vec<Pattern>,
}

impl Default for NumberPatterns {
    fn default() -> Self {
        NumberPatterns::from_toml(DEFAULT_PATTERNS).expect("the default patterns are valid")
    }
}

impl NumberPatterns {
    /// Parse and compile a patterns file.
    pub fn from_toml(text: &str) -> Result<NumberPatterns, PatternError> {
        let file: PatternsFile =
            basic_toml::from_str(text).map_err(|e| PatternError::Toml(e.to_string()))?;
        if let Some(v) = file.version {
            if v != 1 {
                return Err(PatternError::Version(v));
            }
        }
        let mut patterns: Vec<Pattern> = Vec::with_capacity(file.patterns.len());
        for def in file.patterns {
            if patterns.iter().any(|p| p.name == def.name) {
                return Err(PatternError::Duplicate(def.name));
            }
            let regex = Regex::new(&def.regex).map_err(|e| PatternError::Regex {
                name: def.name.clone(),
                message: e.to_string(),
            })?;
            let names: Vec<&str> = regex.capture_names().flatten().collect();
            for f in names
                .iter()
                .copied()
                .chain(def.set.keys().map(String::as_str))
            {
                if !FIELDS.contains(&f) {
                    return Err(PatternError::UnknownField {
                        name: def.name.clone(),
                        field: f.to_string(),
                    });
                }
            }
            if names.is_empty() && def.set.is_empty() {
                return Err(PatternError::Empty(def.name));
            }
            patterns.push(Pattern {
                name: def.name,
                scope: def.scope,
                regex,
                set: def.set,
            });
        }
        Ok(NumberPatterns { patterns })
    }

    /// Read a patterns file from disk.
    pub fn from_file(path: &std::path::Path) -> Result<NumberPatterns, PatternError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PatternError::Toml(format!("{}: {e}", path.display())))?;
        NumberPatterns::from_toml(&text)
    }

    /// The compiled patterns, in file order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Parse a relative path (`/` or `\` separated; the last component is
    /// the file name).
    pub fn parse(&self, path: &str) -> Labels {
        let comps: Vec<&str> = path
            .split(['/', '\\'])
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let mut labels = Labels::default();
        // File first, then folders from the innermost out.
        for (i, comp) in comps.iter().enumerate().rev() {
            let scope = if i + 1 == comps.len() {
                Scope::File
            } else {
                Scope::Folder
            };
            let norm = normalize(comp);
            let mut hit = false;
            for p in self.patterns.iter().filter(|p| p.scope == scope) {
                if let Some(c) = p.regex.captures(&norm) {
                    apply(&mut labels, p, &c);
                    hit = true;
                }
            }
            if hit {
                labels.raw.push(comp.to_string());
            }
        }
        let norm_path = normalize(&comps.join("/"));
        for p in self.patterns.iter().filter(|p| p.scope == Scope::Path) {
            if let Some(c) = p.regex.captures(&norm_path) {
                apply(&mut labels, p, &c);
                labels.raw.push(c[0].trim_matches('/').to_string());
            }
        }
        labels
    }
}

fn apply(labels: &mut Labels, p: &Pattern, c: &regex::Captures) {
    let g = |n: &str| -> Option<String> {
        c.name(n)
            .map(|m| m.as_str().trim().to_string())
            .or_else(|| p.set.get(n).cloned())
            .filter(|s| !s.is_empty())
    };
    if !labels.matched.contains(&p.name) {
        labels.matched.push(p.name.clone());
    }
    for f in ["detainee", "branch", "photographer", "hospital", "shot"] {
        if let Some(v) = g(f) {
            labels.put(f, v, &p.name);
        }
    }
    let report = match (g("report_no"), g("report_year"), g("report")) {
        (Some(n), Some(y), _) => Some(format!("{n}/{y}")),
        (Some(n), None, _) => Some(n),
        (None, _, Some(r)) => Some(r.replace(['-', '_', '.', ' '], "/")),
        _ => None,
    };
    if let Some(r) = report {
        labels.put("report", r, &p.name);
    }
    if let (Some(y), Some(m), Some(d)) = (g("year"), g("month"), g("day")) {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) {
            if (1..=12).contains(&m) && (1..=31).contains(&d) {
                labels.put("date", format!("{y:04}-{m:02}-{d:02}"), &p.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize("٤٥١٢_٢١٥"), "4512_215");
        assert_eq!(normalize("۴۵۱۲"), "4512");
        assert_eq!(normalize("\u{200F}معتقل\u{00A0}١"), "معتقل 1");
    }

    #[test]
    fn a_custom_file_can_say_where_a_photographer_worked() {
        let p = NumberPatterns::from_toml(
            r#"
version = 1
[[pattern]]
name = "tishreen photographer"
scope = "path"
regex = '/(?P<photographer>P4)/'
set = { hospital = "Tishreen" }
"#,
        )
        .unwrap();
        let l = p.parse("2012/03/09/P4/IMG_1.JPG");
        assert_eq!(l.hospital.as_deref(), Some("Tishreen"));
        assert_eq!(l.photographer.as_deref(), Some("P4"));
        assert_eq!(p.parse("2012/03/09/P1/IMG_1.JPG").hospital, None);
    }

    #[test]
    fn default_patterns_compile() {
        let p = NumberPatterns::default();
        assert!(p.patterns().len() >= 10);
    }
}
