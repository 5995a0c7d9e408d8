//! The message catalogue: every user-facing text, by key, in Hungarian and English.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Hu,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Hu => "hu",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "hu" => Some(Lang::Hu),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks from an `Accept-Language` header; Hungarian unless English is preferred.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best = (Lang::Hu, -1.0f32);
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("hu") {
                Some(Lang::Hu)
            } else if tag.starts_with("en") {
                Some(Lang::En)
            } else {
                None
            };
            if let Some(l) = lang
                && q > best.1
            {
                best = (l, q);
            }
        }
        best.0
    }
}

/// Every entry of every catalogue.
fn entries() -> impl Iterator<Item = &'static Entry> {
    CATALOGUE
        .iter()
        .chain(MAILBOX.iter())
        .chain(FACTORS.iter())
        .chain(VAULT.iter())
}

pub fn text(lang: Lang, key: &str) -> &'static str {
    match entries().find(|(k, _, _)| *k == key) {
        Some((_, hu, en)) => match lang {
            Lang::Hu => hu,
            Lang::En => en,
        },
        None => {
            tracing::warn!(key, "missing message key");
            "?"
        }
    }
}

/// The name of a built-in service or role (`kapu`, `kapu.user_maintainer`) in the reader's
/// language; names given by administrators (`stored`) are shown as they are.
pub fn builtin_name<'a>(lang: Lang, id: &str, stored: &'a str) -> &'a str {
    let key = format!("builtin.{id}");
    match (lang, entries().find(|(k, _, _)| *k == key)) {
        (Lang::En, Some((_, _, en))) => en,
        _ => stored,
    }
}

/// The description of a built-in role in the reader's language.
pub fn builtin_description<'a>(lang: Lang, id: &str, stored: &'a str) -> &'a str {
    builtin_name(lang, &format!("{id}.description"), stored)
}

pub fn has(key: &str) -> bool {
    entries().any(|(k, _, _)| *k == key)
}

type Entry = (&'static str, &'static str, &'static str);

include!("i18n_catalogue.rs");
include!("i18n_mailbox.rs");
include!("i18n_factors.rs");
include!("i18n_vault.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_quality_known_language() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("de,en;q=0.5,hu;q=0.8"), Lang::Hu);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Hu);
        assert_eq!(Lang::from_accept_language(""), Lang::Hu);
    }

    #[test]
    fn keys_are_unique_and_translated() {
        let all: Vec<&Entry> = entries().collect();
        for (i, (k, hu, en)) in all.iter().enumerate() {
            assert!(!hu.is_empty() && !en.is_empty(), "{k}");
            assert!(all[i + 1..].iter().all(|(o, _, _)| o != k), "duplicate {k}");
        }
    }
}
