//! Translations: Fluent bundles for Arabic (the default, right to left), English, French and
//! German, built into the binary from `i18n/<lang>/portal.ftl`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// (code, Fluent source). The first is the default.
pub const SOURCES: [(&str, &str); 4] = [
    ("ar", include_str!("../i18n/ar/portal.ftl")),
    ("en", include_str!("../i18n/en/portal.ftl")),
    ("fr", include_str!("../i18n/fr/portal.ftl")),
    ("de", include_str!("../i18n/de/portal.ftl")),
];

pub struct I18n {
    bundles: Vec<FluentBundle<FluentResource>>,
}

/// One language, chosen for a request.
#[derive(Clone, Copy)]
pub struct L<'a> {
    i18n: &'a I18n,
    pub index: usize,
}

impl I18n {
    pub fn new() -> I18n {
        let bundles = SOURCES
            .iter()
            .map(|(code, src)| {
                let id: LanguageIdentifier = code.parse().expect("valid language code");
                let res = FluentResource::try_new(src.to_string())
                    .unwrap_or_else(|(_, e)| panic!("i18n/{code}/portal.ftl: {e:?}"));
                let mut b = FluentBundle::new_concurrent(vec![id]);
                // Arabic keeps the bidi isolation marks around arguments (numbers and Latin
                // names inside right-to-left text); the others do not need them.
                b.set_use_isolating(*code == "ar");
                b.add_resource(res).expect("no duplicate message ids");
                b
            })
            .collect();
        I18n { bundles }
    }

    pub fn lang(&self, code: &str) -> Option<L<'_>> {
        SOURCES
            .iter()
            .position(|(c, _)| *c == code)
            .map(|index| L { i18n: self, index })
    }

    pub fn default_lang(&self) -> L<'_> {
        L {
            i18n: self,
            index: 0,
        }
    }

    /// From the language cookie, else the first supported language of `Accept-Language`
    /// (by quality), else Arabic.
    pub fn negotiate(&self, cookie: Option<&str>, accept: Option<&str>) -> L<'_> {
        if let Some(l) = cookie.and_then(|c| self.lang(c)) {
            return l;
        }
        let mut wanted: Vec<(f32, &str)> = accept
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted
            .iter()
            .find_map(|(_, tag)| {
                let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
                self.lang(&primary)
            })
            .unwrap_or_else(|| self.default_lang())
    }

    /// Whether a message id exists in every language.
    pub fn has(&self, id: &str) -> bool {
        self.bundles.iter().all(|b| b.has_message(id))
    }
}

impl Default for I18n {
    fn default() -> Self {
        I18n::new()
    }
}

impl<'a> L<'a> {
    pub fn code(&self) -> &'static str {
        SOURCES[self.index].0
    }

    pub fn dir(&self) -> &'static str {
        if self.code() == "ar" {
            "rtl"
        } else {
            "ltr"
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    pub fn ta(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, FluentValue::from(v.to_string()));
        }
        self.format(id, Some(&fa))
    }

    /// A message whose id is computed (reason codes, statuses): the caller passes the id.
    pub fn dynamic(&self, id: &str, args: &[(String, String)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(k.clone(), FluentValue::from(v.clone()));
        }
        self.format(id, Some(&fa))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let b = &self.i18n.bundles[self.index];
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut errors = Vec::new();
        b.format_pattern(pattern, args, &mut errors).into_owned()
    }
}

/// Arabic-Indic (U+0660…) and Eastern Arabic-Indic (U+06F0…) digits to ASCII.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        let i = I18n::new();
        assert_eq!(
            i.negotiate(None, Some("de-CH,de;q=0.9,en;q=0.8")).code(),
            "de"
        );
        assert_eq!(i.negotiate(None, Some("tr,fr;q=0.5,en;q=0.7")).code(), "en");
        assert_eq!(i.negotiate(None, Some("tr")).code(), "ar");
        assert_eq!(i.negotiate(None, None).code(), "ar");
        assert_eq!(i.negotiate(Some("fr"), Some("en")).code(), "fr");
        assert_eq!(i.negotiate(Some("xx"), Some("en")).code(), "en");
    }

    #[test]
    fn arabic_indic_digits_become_ascii() {
        assert_eq!(ascii_digits("٢١٥ / ۲۷"), "215 / 27");
    }
}
