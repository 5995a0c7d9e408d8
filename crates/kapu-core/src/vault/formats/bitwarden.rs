//! Bitwarden's JSON export: login items whose `login.totp` holds an `otpauth://` address or a
//! bare base32 key. A password-protected export wraps the same JSON in an `EncString`
//! (`2.iv|data|mac`: AES-256-CBC with HMAC-SHA-256) under a key derived from the password
//! and the file's salt (PBKDF2-SHA-256 or Argon2id) and stretched with HKDF into an
//! encryption and a MAC key.

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::budget::{self, Budget};
use super::{FileError, Invalid, Item, from_key, key_of};
use crate::vault::otp;

pub fn read(file: &Value, password: Option<&str>, budget: &Budget) -> Result<Vec<Item>, FileError> {
    if file.get("encrypted").and_then(Value::as_bool) == Some(true) {
        if file.get("passwordProtected").and_then(Value::as_bool) != Some(true) {
            // Encrypted with the account's own key: only Bitwarden itself can open it.
            return Err(FileError("vault.import_bitwarden_account"));
        }
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or(FileError("vault.import_password_required"))?;
        let plain = decrypt(file, password, budget)?;
        let inner: Value =
            serde_json::from_slice(&plain).map_err(|_| FileError("vault.import_truncated"))?;
        return read(&inner, None, budget);
    }
    let items = file
        .get("items")
        .and_then(Value::as_array)
        .ok_or(FileError("vault.import_truncated"))?;
    Ok(items
        .iter()
        .filter_map(|i| {
            let totp = i.pointer("/login/totp").and_then(Value::as_str)?.trim();
            (!totp.is_empty()).then(|| item(i, totp))
        })
        .collect())
}

fn truncated() -> FileError {
    FileError("vault.import_truncated")
}

/// The 32-byte key the password and salt give, by the file's own (capped) parameters.
fn derive(file: &Value, password: &str, budget: &Budget) -> Result<[u8; 32], FileError> {
    let salt = file
        .get("salt")
        .and_then(Value::as_str)
        .ok_or_else(truncated)?;
    let number = |k: &str| file.get(k).and_then(Value::as_u64);
    let too_costly = FileError("vault.import_kdf_too_costly");
    let mut key = [0u8; 32];
    match number("kdfType").unwrap_or(0) {
        0 => {
            let rounds = number("kdfIterations").ok_or_else(truncated)?;
            budget.pbkdf2(rounds)?;
            // The salt is used as the text it is, not decoded.
            pbkdf2::pbkdf2_hmac::<Sha256>(
                password.as_bytes(),
                salt.as_bytes(),
                u32::try_from(rounds).map_err(|_| too_costly)?,
                &mut key,
            );
        }
        1 => {
            let passes = number("kdfIterations").ok_or_else(truncated)?;
            let mib = number("kdfMemory").ok_or_else(truncated)?;
            let lanes = number("kdfParallelism").ok_or_else(truncated)?;
            // Checked arithmetic and the budget before anything runs: parameters chosen to
            // wrap a product are refused, not run.
            let memory = budget.argon2(passes, mib, lanes)?;
            let as_u32 = |v: u64| u32::try_from(v).map_err(|_| too_costly);
            let params = argon2::Params::new(
                as_u32(mib.checked_mul(1024).ok_or(too_costly)?)?,
                as_u32(passes)?,
                as_u32(lanes)?,
                Some(32),
            )
            .map_err(|_| too_costly)?;
            let held = budget::hold(budget, memory)?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(
                    password.as_bytes(),
                    &Sha256::digest(salt.as_bytes()),
                    &mut key,
                )
                .map_err(|_| truncated())?;
            drop(held);
        }
        _ => return Err(truncated()),
    }
    Ok(key)
}

/// Opens the export's `data` with the stretched key; a wrong password fails the MAC.
fn decrypt(file: &Value, password: &str, budget: &Budget) -> Result<Vec<u8>, FileError> {
    let key = derive(file, password, budget)?;
    let hkdf = hkdf::Hkdf::<Sha256>::from_prk(&key).map_err(|_| truncated())?;
    let (mut enc, mut mac_key) = ([0u8; 32], [0u8; 32]);
    hkdf.expand(b"enc", &mut enc).map_err(|_| truncated())?;
    hkdf.expand(b"mac", &mut mac_key).map_err(|_| truncated())?;
    let data = file
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(truncated)?;
    let body = data.strip_prefix("2.").ok_or_else(truncated)?;
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| truncated())
    };
    let mut parts = body.split('|');
    let (Some(iv), Some(ct), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(truncated());
    };
    let (iv, ct, mac) = (b64(iv)?, b64(ct)?, b64(mac)?);
    let mut check =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key).map_err(|_| truncated())?;
    check.update(&iv);
    check.update(&ct);
    check
        .verify_slice(&mac)
        .map_err(|_| FileError("vault.import_wrong_password"))?;
    let iv: [u8; 16] = iv.try_into().map_err(|_| truncated())?;
    cbc::Decryptor::<aes::Aes256>::new(&enc.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(&ct)
        .map_err(|_| truncated())
}

fn item(i: &Value, totp: &str) -> Item {
    let name = i
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let user = i
        .pointer("/login/username")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let notes = i
        .get("notes")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let invalid = |reason| Invalid {
        label: if user.is_empty() {
            name.clone()
        } else {
            format!("{name}: {user}")
        },
        reason,
    };
    let mut key = if totp.to_ascii_lowercase().starts_with("otpauth://") {
        otp::parse_otpauth(totp).map_err(invalid)?
    } else if totp.starts_with("steam://") {
        return Err(invalid("vault.import_not_totp"));
    } else {
        key_of(&name, &user, totp, None, None, None).map_err(invalid)?
    };
    if key.issuer.is_empty() {
        key.issuer = name.clone();
    }
    if key.account.is_empty() {
        key.account = user.clone();
    }
    Ok(from_key(key, None, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::formats::Cancel;

    fn free() -> Budget {
        Budget::new(&Cancel::default())
    }
    use serde_json::json;

    #[test]
    fn login_items_with_a_key_are_read() {
        let file = json!({"encrypted": false, "items": [
            {"type": 1, "name": "NAV", "notes": "n", "login": {"username": "kiss.anna", "totp": "JBSW Y3DP EHPK 3PXP"}},
            {"type": 1, "name": "Bank", "login": {"username": "b", "totp": "otpauth://totp/Bank:b?secret=JBSWY3DPEHPK3PXP&digits=8"}},
            {"type": 1, "name": "No key", "login": {"username": "c", "totp": null}},
            {"type": 2, "name": "Note"},
            {"type": 1, "name": "Steam", "login": {"username": "d", "totp": "steam://JBSWY3DPEHPK3PXP"}}
        ]});
        let items = read(&file, None, &free()).unwrap();
        assert_eq!(items.len(), 3);
        let a = items[0].as_ref().unwrap();
        assert_eq!(
            (a.issuer.as_str(), a.account.as_str(), a.notes.as_str()),
            ("NAV", "kiss.anna", "n")
        );
        assert_eq!(items[1].as_ref().unwrap().digits, 8);
        assert_eq!(
            items[2].as_ref().unwrap_err().reason,
            "vault.import_not_totp"
        );
        assert_eq!(
            read(
                &json!({"encrypted": true, "passwordProtected": true}),
                None,
                &free()
            )
            .unwrap_err(),
            FileError("vault.import_password_required")
        );
        assert_eq!(
            read(
                &json!({"encrypted": true, "passwordProtected": false, "data": "2.a|b|c"}),
                Some("x"),
                &free(),
            )
            .unwrap_err(),
            FileError("vault.import_bitwarden_account")
        );
        let costly = json!({"encrypted": true, "passwordProtected": true, "salt": "c2FsdA==", "kdfType": 1,
            "kdfIterations": 10, "kdfMemory": 1024, "kdfParallelism": 4, "data": "2.a|b|c"});
        assert_eq!(
            read(&costly, Some("x"), &free()).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
        // Iterations chosen so that iterations × memory wraps to a small number.
        let wrapping = json!({"encrypted": true, "passwordProtected": true, "salt": "c2FsdA==", "kdfType": 1,
            "kdfIterations": 6_148_914_691_236_517_206_u64, "kdfMemory": 3, "kdfParallelism": 1, "data": "2.a|b|c"});
        assert_eq!(
            read(&wrapping, Some("x"), &free()).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
    }
}
