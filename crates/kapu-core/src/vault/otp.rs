//! The one-time-password side of an entry: its parameters, the secret as people and files
//! write it, the codes of now and of the next step, and the `otpauth://` address.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::error::{Error, FieldError, Result};

/// Fewer than 80 bits is not a secret any service hands out; more than 1024 is not a TOTP key.
const MIN_SECRET_BYTES: usize = 10;
const MAX_SECRET_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum OtpAlgorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl OtpAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpAlgorithm::Sha1 => "SHA1",
            OtpAlgorithm::Sha256 => "SHA256",
            OtpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// `SHA1`, `sha-256`, `HmacSHA512`: files write the same thing many ways.
    pub fn parse(s: &str) -> Option<OtpAlgorithm> {
        let s: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        match s.strip_prefix("HMAC").unwrap_or(&s) {
            "SHA1" => Some(OtpAlgorithm::Sha1),
            "SHA256" => Some(OtpAlgorithm::Sha256),
            "SHA512" => Some(OtpAlgorithm::Sha512),
            _ => None,
        }
    }

    fn totp(self) -> Algorithm {
        match self {
            OtpAlgorithm::Sha1 => Algorithm::SHA1,
            OtpAlgorithm::Sha256 => Algorithm::SHA256,
            OtpAlgorithm::Sha512 => Algorithm::SHA512,
        }
    }
}

/// How an entry's codes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpParams {
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    /// Seconds per step.
    pub period: u32,
}

impl Default for OtpParams {
    fn default() -> Self {
        OtpParams {
            algorithm: OtpAlgorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl OtpParams {
    /// Digits 6 to 8 (RFC 4226), a step of 10 seconds to 10 minutes.
    pub fn new(algorithm: OtpAlgorithm, digits: i64, period: i64) -> Result<OtpParams> {
        let mut problems = Vec::new();
        if !(6..=8).contains(&digits) {
            problems.push(FieldError::new("digits", "vault.digits_range"));
        }
        if !(10..=600).contains(&period) {
            problems.push(FieldError::new("period", "vault.period_range"));
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        Ok(OtpParams {
            algorithm,
            digits: digits as u8,
            period: period as u32,
        })
    }
}

/// A secret as people type it and files carry it: upper-cased, without spaces, dashes and
/// padding. The key names what is wrong with it.
pub fn parse_secret(raw: &str) -> std::result::Result<Vec<u8>, &'static str> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return Err("vault.secret_required");
    }
    if !cleaned.chars().all(|c| matches!(c, 'A'..='Z' | '2'..='7')) {
        return Err("vault.secret_not_base32");
    }
    let bytes = Secret::try_from_base32(&cleaned)
        .map_err(|_| "vault.secret_not_base32")?
        .as_ref()
        .to_vec();
    check_secret_len(&bytes)?;
    Ok(bytes)
}

pub fn check_secret_len(bytes: &[u8]) -> std::result::Result<(), &'static str> {
    if bytes.len() < MIN_SECRET_BYTES {
        Err("vault.secret_too_short")
    } else if bytes.len() > MAX_SECRET_BYTES {
        Err("vault.secret_too_long")
    } else {
        Ok(())
    }
}

/// The secret in base32 without padding, as apps show it.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

fn totp(secret: &[u8], params: OtpParams) -> Totp {
    // The parameters were checked when the entry was stored; the builder's own checks
    // would refuse 80-bit secrets that real services still hand out.
    Builder::new()
        .with_algorithm(params.algorithm.totp())
        .with_digits(params.digits)
        .with_step_duration(u64::from(params.period))
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// What a code reveal shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Codes {
    pub code: String,
    /// The code of the step after this one, for a code about to run out.
    pub next_code: String,
    /// Seconds until `code` gives way to `next_code`.
    pub seconds_left: u32,
    pub period: u32,
    pub digits: u8,
}

pub fn codes(secret: &[u8], params: OtpParams, now_ms: i64) -> Codes {
    let t = totp(secret, params);
    let secs = u64::try_from(now_ms / 1000).unwrap_or(0);
    let period = u64::from(params.period);
    let next = (secs / period + 1) * period;
    Codes {
        code: t.generate(secs).to_string(),
        next_code: t.generate(next).to_string(),
        seconds_left: (next - secs) as u32,
        period: params.period,
        digits: params.digits,
    }
}

/// The `otpauth://totp/...` address an authenticator app reads.
pub fn otpauth_uri(secret: &[u8], params: OtpParams, issuer: &str, account: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let label = if issuer.is_empty() {
        enc(account)
    } else {
        format!("{}:{}", enc(issuer), enc(account))
    };
    let mut uri = format!(
        "otpauth://totp/{label}?secret={}&algorithm={}&digits={}&period={}",
        secret_base32(secret),
        params.algorithm.as_str(),
        params.digits,
        params.period
    );
    if !issuer.is_empty() {
        uri.push_str("&issuer=");
        uri.push_str(&enc(issuer));
    }
    uri
}

/// An entry as a file or an address describes it, before it is checked against the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub issuer: String,
    pub account: String,
    pub secret: Vec<u8>,
    pub params: OtpParams,
}

/// Reads an `otpauth://totp/...` address. HOTP and other kinds are refused by name.
pub fn parse_otpauth(uri: &str) -> std::result::Result<ParsedKey, &'static str> {
    let uri = uri.trim();
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("otpauth://hotp") {
        return Err("vault.import_hotp");
    }
    if !lower.starts_with("otpauth://totp/") {
        return Err("vault.import_not_otpauth");
    }
    let secret = parse_secret(&query_value(uri, "secret").ok_or("vault.secret_required")?)?;
    let algorithm = match query_value(uri, "algorithm") {
        Some(a) => OtpAlgorithm::parse(&a).ok_or("vault.algorithm_unknown")?,
        None => OtpAlgorithm::Sha1,
    };
    let number = |key: &str, default: i64| match query_value(uri, key) {
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map_err(|_| "vault.import_bad_params"),
        None => Ok(default),
    };
    let params = OtpParams::new(algorithm, number("digits", 6)?, number("period", 30)?)
        .map_err(|_| "vault.import_bad_params")?;
    // The label is `issuer:account` or `account`, percent-encoded; an `issuer` parameter
    // names the issuer when the label does not.
    let path = &uri["otpauth://totp/".len()..];
    let label = path.split('?').next().unwrap_or("");
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .trim()
            .to_string()
    };
    let label = decode(label);
    let (label_issuer, account) = match label.split_once(':') {
        Some((i, a)) => (Some(i.trim().to_string()), a.trim().to_string()),
        None => (None, label),
    };
    let issuer = query_value(uri, "issuer")
        .map(|i| i.trim().to_string())
        .or(label_issuer)
        .unwrap_or_default();
    Ok(ParsedKey {
        issuer,
        account,
        secret,
        params,
    })
}

fn query_value(uri: &str, key: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.eq_ignore_ascii_case(key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: each algorithm's seed, its 8-digit codes at 59 s and at
    /// 1111111109 s, and the next step's code (the table's 1111111111 s).
    #[test]
    fn codes_match_the_rfc_6238_vectors_for_every_algorithm() {
        let cases: [(&[u8], OtpAlgorithm, &str, &str, &str); 3] = [
            (
                b"12345678901234567890",
                OtpAlgorithm::Sha1,
                "94287082",
                "07081804",
                "14050471",
            ),
            (
                b"12345678901234567890123456789012",
                OtpAlgorithm::Sha256,
                "46119246",
                "68084774",
                "67062674",
            ),
            (
                b"1234567890123456789012345678901234567890123456789012345678901234",
                OtpAlgorithm::Sha512,
                "90693936",
                "25091201",
                "99943326",
            ),
        ];
        for (seed, algorithm, at59, at_later, next) in cases {
            let params = OtpParams::new(algorithm, 8, 30).unwrap();
            assert_eq!(codes(seed, params, 59_000).code, at59, "{algorithm:?}");
            let c = codes(seed, params, 1_111_111_109_000);
            assert_eq!(
                (c.code.as_str(), c.next_code.as_str()),
                (at_later, next),
                "{algorithm:?}"
            );
            assert_eq!(c.seconds_left, 1);
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_the_eight() {
        let c = codes(b"12345678901234567890", OtpParams::default(), 59_000);
        assert_eq!(c.code, "287082");
        assert_eq!(c.seconds_left, 1);
    }

    #[test]
    fn secrets_are_normalised_and_checked() {
        let a = parse_secret("jbsw y3dp-ehpk 3pxp====").unwrap();
        assert_eq!(a, b"Hello!\xde\xad\xbe\xef");
        assert_eq!(secret_base32(&a), "JBSWY3DPEHPK3PXP");
        assert_eq!(parse_secret(""), Err("vault.secret_required"));
        assert_eq!(parse_secret("JBSWY3DP!"), Err("vault.secret_not_base32"));
        assert_eq!(parse_secret("JBSW1Y3DP"), Err("vault.secret_not_base32"));
        assert_eq!(parse_secret("JBSWY3DP"), Err("vault.secret_too_short"));
        assert_eq!(parse_secret(&"A".repeat(300)), Err("vault.secret_too_long"));
    }

    #[test]
    fn parameters_are_bounded() {
        assert!(OtpParams::new(OtpAlgorithm::Sha256, 8, 60).is_ok());
        assert!(OtpParams::new(OtpAlgorithm::Sha1, 5, 30).is_err());
        assert!(OtpParams::new(OtpAlgorithm::Sha1, 9, 30).is_err());
        assert!(OtpParams::new(OtpAlgorithm::Sha1, 6, 0).is_err());
        assert_eq!(OtpAlgorithm::parse("sha-256"), Some(OtpAlgorithm::Sha256));
        assert_eq!(
            OtpAlgorithm::parse("HmacSHA512"),
            Some(OtpAlgorithm::Sha512)
        );
        assert_eq!(OtpAlgorithm::parse("MD5"), None);
    }

    #[test]
    fn otpauth_addresses_round_trip() {
        let secret = parse_secret("JBSWY3DPEHPK3PXP").unwrap();
        let params = OtpParams::new(OtpAlgorithm::Sha256, 8, 60).unwrap();
        let uri = otpauth_uri(&secret, params, "Ügyfélkapu+", "kiss.anna@example.hu");
        let back = parse_otpauth(&uri).unwrap();
        assert_eq!(back.issuer, "Ügyfélkapu+");
        assert_eq!(back.account, "kiss.anna@example.hu");
        assert_eq!(back.secret, secret);
        assert_eq!(back.params, params);
    }

    #[test]
    fn otpauth_addresses_are_read_as_apps_write_them() {
        let k = parse_otpauth(
            "otpauth://totp/ACME%20Co:john@example.com?secret=jbswy3dpehpk3pxp&issuer=ACME%20Co",
        )
        .unwrap();
        assert_eq!(
            (k.issuer.as_str(), k.account.as_str()),
            ("ACME Co", "john@example.com")
        );
        assert_eq!(k.params, OtpParams::default());
        assert_eq!(
            parse_otpauth("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1"),
            Err("vault.import_hotp")
        );
        assert_eq!(
            parse_otpauth("https://example.com"),
            Err("vault.import_not_otpauth")
        );
        assert_eq!(
            parse_otpauth("otpauth://totp/x?issuer=y"),
            Err("vault.secret_required")
        );
        assert_eq!(
            parse_otpauth("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12"),
            Err("vault.import_bad_params")
        );
        assert_eq!(
            parse_otpauth("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"),
            Err("vault.algorithm_unknown")
        );
    }
}
