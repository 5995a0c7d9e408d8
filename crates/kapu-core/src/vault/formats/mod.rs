//! The files other authenticators write, read into entries: `otpauth://` lists, Aegis vaults
//! (plain and encrypted), 2FAS backups (plain and encrypted), Google Authenticator's
//! migration export, Bitwarden's JSON export, and pictures of QR codes holding addresses. Each reader gives one item per entry the
//! file holds, valid or with the reason it is not; a file that cannot be read at all is
//! refused with the reason.

pub mod aegis;
pub mod bitwarden;
pub mod budget;
pub mod google;
pub mod qr_image;

pub use budget::{Budget, Cancel};
pub mod twofas;

use serde::Serialize;

use super::entries::CleanEntry;
use super::otp::{self, OtpAlgorithm, OtpParams, ParsedKey};

/// Which reader a file needs; told by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Otpauth,
    Aegis,
    TwoFas,
    GoogleMigration,
    Bitwarden,
    /// Pictures of QR codes, each holding one of the address formats.
    QrImage,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Otpauth => "otpauth",
            Format::Aegis => "aegis",
            Format::TwoFas => "two_fas",
            Format::GoogleMigration => "google_migration",
            Format::Bitwarden => "bitwarden",
            Format::QrImage => "qr_image",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        [
            Format::Otpauth,
            Format::Aegis,
            Format::TwoFas,
            Format::GoogleMigration,
            Format::Bitwarden,
            Format::QrImage,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

/// A file that cannot be read: the key says why (wrong password, truncated, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileError(pub &'static str);

/// One entry of a file: ready to store, or the reason it cannot be.
pub type Item = Result<CleanEntry, Invalid>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What the file calls it, to find it in the preview.
    pub label: String,
    pub reason: &'static str,
}

/// Reads a file of any known format; `password` opens the encrypted ones.
pub fn read(bytes: &[u8], password: Option<&str>) -> Result<(Format, Vec<Item>), FileError> {
    read_within(bytes, password, &Budget::new(&Cancel::default()))
}

/// As [`read`], charging what the file asks for against `budget`.
pub fn read_within(
    bytes: &[u8],
    password: Option<&str>,
    budget: &Budget,
) -> Result<(Format, Vec<Item>), FileError> {
    if qr_image::is_image(bytes) {
        let mut items = Vec::new();
        for text in qr_image::texts(bytes, budget)? {
            items.extend(read_within(text.as_bytes(), None, budget)?.1);
        }
        return Ok((Format::QrImage, items));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FileError("vault.import_unknown_format"))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|_| FileError("vault.import_truncated"))?;
        if json.get("header").is_some() && json.get("db").is_some() {
            return Ok((Format::Aegis, aegis::read(&json, password, budget)?));
        }
        if json.get("services").is_some() || json.get("servicesEncrypted").is_some() {
            return Ok((Format::TwoFas, twofas::read(&json, password, budget)?));
        }
        if json.get("items").is_some() || json.get("encrypted").is_some() {
            return Ok((Format::Bitwarden, bitwarden::read(&json, password, budget)?));
        }
        return Err(FileError("vault.import_unknown_format"));
    }
    let lines: Vec<&str> = trimmed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(FileError("vault.import_empty"));
    }
    if lines.iter().all(|l| l.starts_with("otpauth-migration://")) {
        let mut items = Vec::new();
        for l in lines {
            items.extend(google::read(l)?);
        }
        return Ok((Format::GoogleMigration, items));
    }
    if lines
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("otpauth://"))
    {
        return Ok((
            Format::Otpauth,
            lines.into_iter().map(otpauth_line).collect(),
        ));
    }
    Err(FileError("vault.import_unknown_format"))
}

fn otpauth_line(line: &str) -> Item {
    let label = line
        .split('?')
        .next()
        .unwrap_or(line)
        .chars()
        .take(120)
        .collect();
    otp::parse_otpauth(line)
        .map(|k| from_key(k, None, String::new()))
        .map_err(|reason| Invalid { label, reason })
}

/// An entry from what a file says of it: the account names the client when there is one.
pub fn from_key(k: ParsedKey, recovery_code: Option<String>, notes: String) -> CleanEntry {
    let client_name = if k.account.is_empty() {
        k.issuer.clone()
    } else {
        k.account.clone()
    };
    CleanEntry {
        client_name: truncate(&client_name, 200),
        account: truncate(&k.account, 200),
        issuer: truncate(&k.issuer, 200),
        secret: k.secret,
        algorithm: k.params.algorithm,
        digits: k.params.digits,
        period: k.params.period,
        recovery_code,
        notes: truncate(&notes, 4000),
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// The fields most formats share, checked by the vault's own rules.
pub fn key_of(
    issuer: &str,
    account: &str,
    secret: &str,
    algorithm: Option<&str>,
    digits: Option<i64>,
    period: Option<i64>,
) -> Result<ParsedKey, &'static str> {
    let secret = otp::parse_secret(secret)?;
    let algorithm = match algorithm {
        None | Some("") => OtpAlgorithm::Sha1,
        Some(a) => OtpAlgorithm::parse(a).ok_or("vault.algorithm_unknown")?,
    };
    let params = OtpParams::new(algorithm, digits.unwrap_or(6), period.unwrap_or(30))
        .map_err(|_| "vault.import_bad_params")?;
    Ok(ParsedKey {
        issuer: issuer.to_string(),
        account: account.to_string(),
        secret,
        params,
    })
}

fn label(issuer: &str, account: &str) -> String {
    match (issuer.is_empty(), account.is_empty()) {
        (false, false) => format!("{issuer}: {account}"),
        (true, _) => account.to_string(),
        (false, true) => issuer.to_string(),
    }
}

fn hex_field(v: &serde_json::Value, key: &str) -> Result<Vec<u8>, FileError> {
    v.get(key)
        .and_then(|x| x.as_str())
        .and_then(|s| hex::decode(s).ok())
        .ok_or(FileError("vault.import_truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otpauth_lists_are_read_line_by_line_with_reasons() {
        let file = "otpauth://totp/Ugyfelkapu:kiss.anna?secret=JBSWY3DPEHPK3PXP&issuer=Ugyfelkapu\n\n\
                    otpauth://totp/NAV:bad?secret=JBSW\n";
        let (format, items) = read(file.as_bytes(), None).unwrap();
        assert_eq!(format, Format::Otpauth);
        assert_eq!(items.len(), 2);
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            (first.client_name.as_str(), first.issuer.as_str()),
            ("kiss.anna", "Ugyfelkapu")
        );
        assert_eq!(
            items[1].as_ref().unwrap_err().reason,
            "vault.secret_too_short"
        );
    }

    #[test]
    fn unknown_and_empty_files_are_refused() {
        assert_eq!(
            read(b"hello", None).unwrap_err(),
            FileError("vault.import_unknown_format")
        );
        assert_eq!(
            read(b"  \n", None).unwrap_err(),
            FileError("vault.import_empty")
        );
        assert_eq!(
            read(b"{\"header\": {", None).unwrap_err(),
            FileError("vault.import_truncated")
        );
        assert_eq!(
            read(&[0xff, 0xfe, 0x00], None).unwrap_err(),
            FileError("vault.import_unknown_format")
        );
    }
}
