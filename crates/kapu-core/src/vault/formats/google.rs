//! Google Authenticator's "transfer accounts" export: `otpauth-migration://offline?data=…`,
//! where `data` is a base64 protobuf `MigrationPayload` (one QR code per batch).

use base64::Engine as _;
use prost::Message;

use super::{FileError, Invalid, Item, from_key, label};
use crate::vault::otp::{self, OtpAlgorithm, OtpParams, ParsedKey};

#[derive(Clone, PartialEq, Message)]
pub struct MigrationPayload {
    #[prost(message, repeated, tag = "1")]
    pub otp_parameters: Vec<OtpParameters>,
    #[prost(int32, tag = "2")]
    pub version: i32,
    #[prost(int32, tag = "3")]
    pub batch_size: i32,
    #[prost(int32, tag = "4")]
    pub batch_index: i32,
    #[prost(int32, tag = "5")]
    pub batch_id: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct OtpParameters {
    #[prost(bytes = "vec", tag = "1")]
    pub secret: Vec<u8>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub issuer: String,
    /// 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5.
    #[prost(int32, tag = "4")]
    pub algorithm: i32,
    /// 1 six, 2 eight.
    #[prost(int32, tag = "5")]
    pub digits: i32,
    /// 1 HOTP, 2 TOTP.
    #[prost(int32, tag = "6")]
    pub r#type: i32,
    #[prost(int64, tag = "7")]
    pub counter: i64,
}

pub fn read(line: &str) -> Result<Vec<Item>, FileError> {
    let data = line
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("data=")))
        .ok_or(FileError("vault.import_truncated"))?;
    let data = percent_encoding::percent_decode_str(data).decode_utf8_lossy();
    // Exports are standard base64; some tools hand them on URL-safe or without padding.
    let cleaned: String = data
        .trim()
        .replace('-', "+")
        .replace('_', "/")
        .trim_end_matches('=')
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(cleaned)
        .map_err(|_| FileError("vault.import_truncated"))?;
    let payload = MigrationPayload::decode(bytes.as_slice())
        .map_err(|_| FileError("vault.import_truncated"))?;
    Ok(payload.otp_parameters.into_iter().map(item).collect())
}

fn item(p: OtpParameters) -> Item {
    // The name is often "Issuer:account", as in an otpauth label.
    let account = match p.name.split_once(':') {
        Some((prefix, rest)) if prefix == p.issuer => rest.trim().to_string(),
        _ => p.name.clone(),
    };
    let invalid = |reason| Invalid {
        label: label(&p.issuer, &account),
        reason,
    };
    if p.r#type == 1 {
        return Err(invalid("vault.import_hotp"));
    }
    let algorithm = match p.algorithm {
        0 | 1 => OtpAlgorithm::Sha1,
        2 => OtpAlgorithm::Sha256,
        3 => OtpAlgorithm::Sha512,
        _ => return Err(invalid("vault.algorithm_unknown")),
    };
    let digits = if p.digits == 2 { 8 } else { 6 };
    otp::check_secret_len(&p.secret).map_err(invalid)?;
    let params =
        OtpParams::new(algorithm, digits, 30).map_err(|_| invalid("vault.import_bad_params"))?;
    Ok(from_key(
        ParsedKey {
            issuer: p.issuer.clone(),
            account,
            secret: p.secret,
            params,
        },
        None,
        String::new(),
    ))
}

/// An export line for `entries` (used by tests to make real sample files).
pub fn write(params: Vec<OtpParameters>) -> String {
    let payload = MigrationPayload {
        otp_parameters: params,
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: 1,
    };
    let data = base64::engine::general_purpose::STANDARD.encode(payload.encode_to_vec());
    format!(
        "otpauth-migration://offline?data={}",
        percent_encoding::utf8_percent_encode(&data, percent_encoding::NON_ALPHANUMERIC)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_exports_are_read() {
        let line = write(vec![
            OtpParameters {
                secret: b"12345678901234567890".to_vec(),
                name: "NAV:kiss.anna".into(),
                issuer: "NAV".into(),
                algorithm: 2,
                digits: 2,
                r#type: 2,
                counter: 0,
            },
            OtpParameters {
                secret: b"12345678901234567890".to_vec(),
                name: "counter".into(),
                issuer: "X".into(),
                algorithm: 1,
                digits: 1,
                r#type: 1,
                counter: 3,
            },
        ]);
        let items = read(&line).unwrap();
        let first = items[0].as_ref().unwrap();
        assert_eq!((first.account.as_str(), first.digits), ("kiss.anna", 8));
        assert_eq!(first.algorithm, OtpAlgorithm::Sha256);
        assert_eq!(items[1].as_ref().unwrap_err().reason, "vault.import_hotp");
        assert_eq!(
            read("otpauth-migration://offline?data=%%%").unwrap_err(),
            FileError("vault.import_truncated")
        );
    }
}
