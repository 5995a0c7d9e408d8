//! Names that are valid once they exist: tenant codes, login names, full names, e-mails.

use std::fmt;

/// A tenant's code: the municipality's name in lower-case ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantCode(String);

impl TenantCode {
    pub fn parse(s: &str) -> Result<TenantCode, &'static str> {
        let s = s.trim();
        if s.len() < 2 || s.len() > 40 {
            return Err("tenant.code_length");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase())
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err("tenant.code_format");
        }
        Ok(TenantCode(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `vezeteknev.keresztnev`: `[a-z0-9]` segments joined by dots, fixed once created.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(s: &str) -> Result<LoginName, &'static str> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return Err("user.login_length");
        }
        let ok = s.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        if !ok {
            return Err("user.login_format");
        }
        Ok(LoginName(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `name@tenant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullLogin {
    pub login: LoginName,
    pub tenant: TenantCode,
}

impl FullLogin {
    pub fn parse(s: &str) -> Result<FullLogin, &'static str> {
        let (login, tenant) = s.trim().rsplit_once('@').ok_or("login.format")?;
        Ok(FullLogin {
            login: LoginName::parse(login).map_err(|_| "login.format")?,
            tenant: TenantCode::parse(tenant).map_err(|_| "login.format")?,
        })
    }
}

impl fmt::Display for FullLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.login.0, self.tenant.0)
    }
}

fn clean_text(
    s: &str,
    max: usize,
    empty: &'static str,
    long: &'static str,
) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Err(empty);
    }
    if s.chars().count() > max {
        return Err(long);
    }
    if s.chars().any(char::is_control) {
        return Err("text.control_chars");
    }
    Ok(s.to_string())
}

pub fn full_name(s: &str) -> Result<String, &'static str> {
    clean_text(s, 200, "user.full_name_required", "user.full_name_too_long")
}

pub fn tenant_name(s: &str) -> Result<String, &'static str> {
    clean_text(s, 200, "tenant.name_required", "tenant.name_too_long")
}

/// A deliberately plain e-mail check: one `@`, a dotted domain, no spaces, at most 254 bytes.
pub fn email(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Err("user.email_required");
    }
    if s.len() > 254 {
        return Err("user.email_too_long");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err("user.email_format");
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\@".contains(c));
    if !domain_ok || !local_ok {
        return Err("user.email_format");
    }
    Ok(s.to_string())
}

pub use crate::platform::fold::fold;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_dotted_lower_case_ascii() {
        assert!(LoginName::parse("kovacs.janos").is_ok());
        assert!(LoginName::parse("admin").is_ok());
        assert!(LoginName::parse("kovacs.janos2").is_ok());
        assert_eq!(LoginName::parse("Kovacs.Janos"), Err("user.login_format"));
        assert_eq!(LoginName::parse("kovács.jános"), Err("user.login_format"));
        assert_eq!(LoginName::parse("kovacs..janos"), Err("user.login_format"));
        assert_eq!(LoginName::parse(".kovacs"), Err("user.login_format"));
        assert_eq!(LoginName::parse("kovacs janos"), Err("user.login_format"));
        assert_eq!(LoginName::parse(&"a".repeat(65)), Err("user.login_length"));
    }

    #[test]
    fn tenant_codes_have_no_accents_or_punctuation() {
        assert!(TenantCode::parse("kozpont").is_ok());
        assert!(TenantCode::parse("budapest13").is_ok());
        assert_eq!(TenantCode::parse("győr"), Err("tenant.code_format"));
        assert_eq!(TenantCode::parse("szeged-1"), Err("tenant.code_format"));
        assert_eq!(TenantCode::parse("1pest"), Err("tenant.code_format"));
        assert_eq!(TenantCode::parse("a"), Err("tenant.code_length"));
    }

    #[test]
    fn full_logins_split_at_the_last_at_sign() {
        let f = FullLogin::parse("kovacs.janos@szeged").unwrap();
        assert_eq!(f.to_string(), "kovacs.janos@szeged");
        assert_eq!(FullLogin::parse("kovacs.janos"), Err("login.format"));
        assert_eq!(FullLogin::parse("a@b@szeged"), Err("login.format"));
    }

    #[test]
    fn folded_names_sort_and_match_without_accents() {
        assert_eq!(fold("Ábel Zoltán"), "abel zoltan");
        assert_eq!(fold("ŐRSÉG Ű"), "orseg u");
        assert!(fold("Ábel") < fold("Tóth"));
    }

    #[test]
    fn emails_and_names_are_checked_plainly() {
        assert!(email("kovacs.janos@szeged.hu").is_ok());
        assert_eq!(email("nincs"), Err("user.email_format"));
        assert_eq!(email("a b@c.hu"), Err("user.email_format"));
        assert_eq!(email(""), Err("user.email_required"));
        assert_eq!(full_name("  Kovács János ").unwrap(), "Kovács János");
        assert_eq!(full_name("a\u{0}b"), Err("text.control_chars"));
        assert_eq!(full_name(&"é".repeat(201)), Err("user.full_name_too_long"));
    }
}
