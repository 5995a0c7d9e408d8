//! Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), the
//! `otpauth://` address an authenticator app reads, and its QR code as SVG.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::error::{Error, Result};

/// Secret length: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Codes of the step before and after the current one are accepted (clock drift).
const SKEW: u16 = 1;

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(SKEW)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

/// The secret as an authenticator app takes it by hand (base32).
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// The secret of a base32 key as an app shows it (clients of the API need it: the
/// benchmark and the tests act as the user's app).
pub fn secret_from_base32(key: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(key.trim_end_matches('='))
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

/// The `otpauth://totp/...` address of a secret.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String> {
    totp(secret, issuer, account)?
        .to_url()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

/// A QR code of `text` as SVG markup to place in a page (no XML prolog, no script, no
/// style attribute: the pages' policy allows none of them).
pub fn qr_svg(text: &str) -> Result<String> {
    let code =
        qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(at) => svg[at..].to_string(),
        None => svg,
    })
}

/// A key in groups of four (`ABCD EFGH …`), as a person reads it off the screen.
pub fn grouped(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + key.len() / 4);
    for (i, c) in key.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Keeps the digits of what a person typed (`123 456` and `123-456` are `123456`).
pub fn normalise_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// The time step a code is valid for, when it is valid now and newer than `last_step`:
/// a code is accepted once, and never one older than the last accepted.
pub fn accept(secret: &[u8], code: &str, now_secs: u64, last_step: Option<u64>) -> Option<u64> {
    let code = normalise_code(code);
    if code.len() != 6 {
        return None;
    }
    let t = totp(secret, "Kapu", "user").ok()?;
    let step = t.check(&code, now_secs)?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// The code of a time (for tests and the benchmark, which act as the user's app).
pub fn code_at(secret: &[u8], secs: u64) -> Result<String> {
    Ok(totp(secret, "Kapu", "user")?.generate(secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, cut to 6 digits.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SECRET, t).unwrap(), code, "t = {t}");
        }
    }

    #[test]
    fn a_code_is_accepted_once_and_never_an_older_one() {
        let now = 1_234_567_890;
        let step = now / 30;
        let code = code_at(RFC_SECRET, now).unwrap();
        assert_eq!(accept(RFC_SECRET, &code, now, None), Some(step));
        // The same code again, in the same step: refused.
        assert_eq!(accept(RFC_SECRET, &code, now, Some(step)), None);
        // The previous step's code is within the drift window but older than the last one.
        let old = code_at(RFC_SECRET, now - 30).unwrap();
        assert_eq!(accept(RFC_SECRET, &old, now, Some(step)), None);
        // The next step's code is newer: accepted.
        let next = code_at(RFC_SECRET, now + 30).unwrap();
        assert_eq!(accept(RFC_SECRET, &next, now, Some(step)), Some(step + 1));
    }

    #[test]
    fn codes_outside_the_drift_window_or_malformed_are_refused() {
        let now = 1_234_567_890;
        let far = code_at(RFC_SECRET, now - 90).unwrap();
        assert_eq!(accept(RFC_SECRET, &far, now, None), None);
        assert_eq!(accept(RFC_SECRET, "12345", now, None), None);
        assert_eq!(accept(RFC_SECRET, "", now, None), None);
        let spaced = code_at(RFC_SECRET, now).unwrap();
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(accept(RFC_SECRET, &spaced, now, None).is_some());
    }

    #[test]
    fn the_address_names_issuer_account_and_secret() {
        let uri = otpauth_uri(RFC_SECRET, "Kapu", "admin@kozpont").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Kapu:admin%40kozpont?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", secret_base32(RFC_SECRET))));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("style="), "{svg}");
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let key = secret_base32(RFC_SECRET);
        assert_eq!(secret_from_base32(&key).unwrap(), RFC_SECRET);
    }
}
