//! 2FAS Authenticator backups (`.2fas`): a JSON file with `services`, or, when protected by a
//! password, `servicesEncrypted` as `ciphertext:salt:iv` (base64 each), PBKDF2-HMAC-SHA256
//! with 10,000 rounds and AES-256-GCM.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use serde_json::Value;

use super::budget::Budget;
use super::{FileError, Invalid, Item, from_key, key_of, label};

const ROUNDS: u32 = 10_000;

pub fn read(file: &Value, password: Option<&str>, budget: &Budget) -> Result<Vec<Item>, FileError> {
    let services = match (
        file.get("services"),
        file.get("servicesEncrypted").and_then(Value::as_str),
    ) {
        (_, Some(sealed)) if !sealed.is_empty() => {
            let password = password
                .filter(|p| !p.is_empty())
                .ok_or(FileError("vault.import_password_required"))?;
            let plain = decrypt(sealed, password, budget)?;
            serde_json::from_slice::<Value>(&plain)
                .map_err(|_| FileError("vault.import_truncated"))?
        }
        (Some(list), _) => list.clone(),
        _ => return Err(FileError("vault.import_truncated")),
    };
    let services = services
        .as_array()
        .ok_or(FileError("vault.import_truncated"))?;
    Ok(services.iter().map(service).collect())
}

fn service(s: &Value) -> Item {
    let otp = s.get("otp").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let issuer = match text(&otp, "issuer") {
        i if i.is_empty() => text(s, "name"),
        i => i,
    };
    let account = match text(&otp, "account") {
        a if a.is_empty() => text(&otp, "label"),
        a => a,
    };
    let invalid = |reason| Invalid {
        label: label(&issuer, &account),
        reason,
    };
    let kind = text(&otp, "tokenType");
    if !kind.is_empty() && !kind.eq_ignore_ascii_case("TOTP") {
        return Err(invalid("vault.import_not_totp"));
    }
    let key = key_of(
        &issuer,
        &account,
        &text(s, "secret"),
        otp.get("algorithm").and_then(Value::as_str),
        otp.get("digits").and_then(Value::as_i64),
        otp.get("period").and_then(Value::as_i64),
    )
    .map_err(invalid)?;
    Ok(from_key(key, None, String::new()))
}

fn decrypt(sealed: &str, password: &str, budget: &Budget) -> Result<Vec<u8>, FileError> {
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| FileError("vault.import_truncated"))
    };
    let mut parts = sealed.split(':');
    let (Some(body), Some(salt), Some(iv)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(FileError("vault.import_truncated"));
    };
    let (body, salt, iv) = (b64(body)?, b64(salt)?, b64(iv)?);
    let mut key = [0u8; 32];
    budget.pbkdf2(u64::from(ROUNDS))?;
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, ROUNDS, &mut key);
    let cipher =
        Aes256Gcm::new_from_slice(&key).map_err(|_| FileError("vault.import_truncated"))?;
    let nonce = Nonce::try_from(iv.as_slice()).map_err(|_| FileError("vault.import_truncated"))?;
    cipher
        .decrypt(&nonce, body.as_slice())
        .map_err(|_| FileError("vault.import_wrong_password"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::formats::Cancel;

    fn free() -> Budget {
        Budget::new(&Cancel::default())
    }
    use serde_json::json;

    fn sealed(plain: &[u8], password: &str) -> String {
        let salt = [7u8; 256];
        let iv = [9u8; 12];
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, ROUNDS, &mut key);
        let body = Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt(&Nonce::from(iv), plain)
            .unwrap();
        let e = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        format!("{}:{}:{}", e(&body), e(&salt), e(&iv))
    }

    #[test]
    fn plain_and_encrypted_backups_are_read() {
        let services = json!([{"name": "NAV", "secret": "JBSWY3DPEHPK3PXP",
            "otp": {"account": "kiss.anna", "issuer": "NAV", "digits": 8, "period": 30, "algorithm": "SHA256", "tokenType": "TOTP"}},
            {"name": "Old", "secret": "JBSWY3DPEHPK3PXP", "otp": {"tokenType": "HOTP"}}]);
        let plain = json!({"schemaVersion": 4, "services": services});
        let items = read(&plain, None, &free()).unwrap();
        assert_eq!(items[0].as_ref().unwrap().digits, 8);
        assert_eq!(
            items[1].as_ref().unwrap_err().reason,
            "vault.import_not_totp"
        );
        let enc = json!({"schemaVersion": 4, "services": [], "servicesEncrypted": sealed(services.to_string().as_bytes(), "pw")});
        assert_eq!(read(&enc, Some("pw"), &free()).unwrap().len(), 2);
        assert_eq!(
            read(&enc, Some("nope"), &free()).unwrap_err(),
            FileError("vault.import_wrong_password")
        );
        assert_eq!(
            read(&enc, None, &free()).unwrap_err(),
            FileError("vault.import_password_required")
        );
    }
}
