//! An office's short name: its identifier across the whole system, fixed forever.

/// Upper-case ASCII letters, digits and `-`, 2–32 characters, starting with a letter, no
/// doubled or trailing `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortName(String);

impl ShortName {
    pub fn parse(s: &str) -> Result<ShortName, &'static str> {
        let s = s.trim();
        if s.len() < 2 || s.len() > 32 {
            return Err("office.short_name_length");
        }
        let ok = s.starts_with(|c: char| c.is_ascii_uppercase())
            && !s.ends_with('-')
            && !s.contains("--")
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(ShortName(s.to_string()))
        } else {
            Err("office.short_name_format")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ShortName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_upper_case_letters_digits_and_dashes() {
        assert!(ShortName::parse("MEH-EKK").is_ok());
        assert!(ShortName::parse("BPFOV2").is_ok());
        assert_eq!(ShortName::parse("meh-ekk"), Err("office.short_name_format"));
        assert_eq!(ShortName::parse("2BP"), Err("office.short_name_format"));
        assert_eq!(ShortName::parse("A--B"), Err("office.short_name_format"));
        assert_eq!(ShortName::parse("AB-"), Err("office.short_name_format"));
        assert_eq!(ShortName::parse("ÁB"), Err("office.short_name_format"));
        assert_eq!(ShortName::parse("A"), Err("office.short_name_length"));
    }
}
