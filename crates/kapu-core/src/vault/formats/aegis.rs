//! Aegis Authenticator's vault file (its documented format, `docs/vault.md`): a header of
//! key slots and a database of entries, plain or encrypted. Encrypted vaults wrap a random
//! master key per password slot with scrypt + AES-256-GCM, and the database with the master
//! key under AES-256-GCM. Kapu reads both kinds and writes encrypted ones.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use serde_json::{Value, json};

use super::budget::{self, Budget};
use super::{FileError, Invalid, Item, from_key, hex_field, key_of, label};
use crate::error::{Error, Result};
use crate::platform::master_key::random_bytes;
use crate::vault::entries::CleanEntry;
use crate::vault::otp;

/// The scrypt cost Aegis itself uses for password slots.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;

pub fn read(file: &Value, password: Option<&str>, budget: &Budget) -> Result<Vec<Item>, FileError> {
    let db = match file.get("db") {
        Some(Value::Object(_)) => file["db"].clone(),
        Some(Value::String(sealed)) => {
            let password = password
                .filter(|p| !p.is_empty())
                .ok_or(FileError("vault.import_password_required"))?;
            let plain = decrypt(file, sealed, password, budget)?;
            serde_json::from_slice(&plain).map_err(|_| FileError("vault.import_truncated"))?
        }
        _ => return Err(FileError("vault.import_truncated")),
    };
    let entries = db
        .get("entries")
        .and_then(Value::as_array)
        .ok_or(FileError("vault.import_truncated"))?;
    let groups: Vec<(String, String)> = db
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(|g| {
                    Some((
                        g.get("uuid")?.as_str()?.to_string(),
                        g.get("name")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(entries.iter().map(|e| entry(e, &groups)).collect())
}

fn entry(e: &Value, groups: &[(String, String)]) -> Item {
    let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (issuer, account) = (text("issuer"), text("name"));
    let invalid = |reason| Invalid {
        label: label(&issuer, &account),
        reason,
    };
    if text("type") != "totp" {
        return Err(invalid("vault.import_not_totp"));
    }
    let info = e.get("info").ok_or(invalid("vault.secret_required"))?;
    let key = key_of(
        &issuer,
        &account,
        info.get("secret").and_then(Value::as_str).unwrap_or(""),
        info.get("algo").and_then(Value::as_str),
        info.get("digits").and_then(Value::as_i64),
        info.get("period").and_then(Value::as_i64),
    )
    .map_err(invalid)?;
    let mut notes = text("note");
    // Version 3 names groups by id, version 2 by name.
    let group_names: Vec<String> = match e.get("groups").and_then(Value::as_array) {
        Some(ids) => ids
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|id| groups.iter().find(|(u, _)| u == id).map(|(_, n)| n.clone()))
            .collect(),
        None => e
            .get("group")
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect(),
    };
    if !group_names.is_empty() {
        if !notes.is_empty() {
            notes.push('\n');
        }
        notes.push_str(&group_names.join(", "));
    }
    Ok(from_key(key, None, notes))
}

fn decrypt(
    file: &Value,
    sealed: &str,
    password: &str,
    budget: &Budget,
) -> Result<Vec<u8>, FileError> {
    let header = file
        .get("header")
        .ok_or(FileError("vault.import_truncated"))?;
    let slots = header
        .get("slots")
        .and_then(Value::as_array)
        .ok_or(FileError("vault.import_truncated"))?;
    let mut master = None;
    // Type 1 is a password slot; biometric slots (2) cannot be opened off the phone.
    for slot in slots
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_i64) == Some(1))
    {
        let (n, r, p) = (
            slot.get("n")
                .and_then(Value::as_u64)
                .ok_or(FileError("vault.import_truncated"))?,
            slot.get("r")
                .and_then(Value::as_u64)
                .ok_or(FileError("vault.import_truncated"))?,
            slot.get("p")
                .and_then(Value::as_u64)
                .ok_or(FileError("vault.import_truncated"))?,
        );
        // Charged before it runs: a file of thousands of slots stops at its budget.
        let (params, memory) = capped_params(n, r, p, budget)?;
        let salt = hex_field(slot, "salt")?;
        let mut derived = [0u8; 32];
        let held = budget::hold(budget, memory)?;
        scrypt::scrypt(password.as_bytes(), &salt, &params, &mut derived)
            .map_err(|_| FileError("vault.import_truncated"))?;
        drop(held);
        let key_params = slot
            .get("key_params")
            .ok_or(FileError("vault.import_truncated"))?;
        if let Ok(key) = open(&derived, key_params, &hex_field(slot, "key")?) {
            master = Some(key);
            break;
        }
    }
    let master = master.ok_or(FileError("vault.import_wrong_password"))?;
    let params = header
        .get("params")
        .ok_or(FileError("vault.import_truncated"))?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(sealed.trim())
        .map_err(|_| FileError("vault.import_truncated"))?;
    open(&master, params, &body).map_err(|_| FileError("vault.import_truncated"))
}

/// scrypt parameters from a file, charged to its budget; with the memory they take.
fn capped_params(
    n: u64,
    r: u64,
    p: u64,
    budget: &Budget,
) -> Result<(scrypt::Params, u64), FileError> {
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
        return Err(FileError("vault.import_truncated"));
    }
    let memory = budget.scrypt(n, r, p)?;
    let too_costly = FileError("vault.import_kdf_too_costly");
    let params = scrypt::Params::new(
        n.trailing_zeros() as u8,
        u32::try_from(r).map_err(|_| too_costly)?,
        u32::try_from(p).map_err(|_| too_costly)?,
    )
    .map_err(|_| too_costly)?;
    Ok((params, memory))
}

/// AES-256-GCM with the nonce and tag kept apart from the ciphertext, as Aegis writes them.
fn open(key: &[u8], params: &Value, ciphertext: &[u8]) -> Result<Vec<u8>, FileError> {
    let nonce = hex_field(params, "nonce")?;
    let tag = hex_field(params, "tag")?;
    if nonce.len() != 12 || tag.len() != 16 {
        return Err(FileError("vault.import_truncated"));
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| FileError("vault.import_truncated"))?;
    let mut joined = ciphertext.to_vec();
    joined.extend_from_slice(&tag);
    let nonce =
        Nonce::try_from(nonce.as_slice()).map_err(|_| FileError("vault.import_truncated"))?;
    cipher
        .decrypt(&nonce, joined.as_slice())
        .map_err(|_| FileError("vault.import_wrong_password"))
}

fn seal(key: &[u8], plain: &[u8]) -> Result<(Value, Vec<u8>)> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::Internal("aes key".into()))?;
    let nonce = random_bytes::<12>()?;
    let mut out = cipher
        .encrypt(&Nonce::from(nonce), plain)
        .map_err(|_| Error::Internal("aes-gcm seal failed".into()))?;
    let tag = out.split_off(out.len() - 16);
    Ok((
        json!({"nonce": hex::encode(nonce), "tag": hex::encode(tag)}),
        out,
    ))
}

/// The entries as a vault database (version 3).
fn database(entries: &[CleanEntry]) -> Value {
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "type": "totp",
                "uuid": uuid::Uuid::new_v4().to_string(),
                "name": if e.account.is_empty() { &e.client_name } else { &e.account },
                "issuer": e.issuer,
                "note": e.notes,
                "favorite": false,
                "icon": null,
                "info": {
                    "secret": otp::secret_base32(&e.secret),
                    "algo": e.algorithm.as_str(),
                    "digits": e.digits,
                    "period": e.period,
                },
                "groups": [],
            })
        })
        .collect();
    json!({"version": 3, "entries": items, "groups": []})
}

/// An encrypted vault file the Aegis app imports with `password`.
pub fn write_encrypted(entries: &[CleanEntry], password: &str) -> Result<Vec<u8>> {
    let master = random_bytes::<32>()?;
    let salt = random_bytes::<32>()?;
    let params =
        scrypt::Params::new(LOG_N, R, P).map_err(|_| Error::Internal("scrypt params".into()))?;
    let mut derived = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut derived)
        .map_err(|_| Error::Internal("scrypt".into()))?;
    let (key_params, wrapped) = seal(&derived, &master)?;
    let plain =
        serde_json::to_vec(&database(entries)).map_err(|e| Error::Internal(e.to_string()))?;
    let (db_params, body) = seal(&master, &plain)?;
    let file = json!({
        "version": 1,
        "header": {
            "slots": [{
                "type": 1,
                "uuid": uuid::Uuid::new_v4().to_string(),
                "key": hex::encode(wrapped),
                "key_params": key_params,
                "n": 1u64 << LOG_N,
                "r": R,
                "p": P,
                "salt": hex::encode(salt),
                "repaired": true,
                "is_backup": false,
            }],
            "params": db_params,
        },
        "db": base64::engine::general_purpose::STANDARD.encode(body),
    });
    serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal(e.to_string()))
}

/// A plain vault file (no encryption).
pub fn write_plain(entries: &[CleanEntry]) -> Result<Vec<u8>> {
    let file =
        json!({"version": 1, "header": {"slots": null, "params": null}, "db": database(entries)});
    serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::formats::Cancel;

    fn free() -> Budget {
        Budget::new(&Cancel::default())
    }
    use crate::vault::otp::OtpAlgorithm;

    fn sample() -> Vec<CleanEntry> {
        vec![CleanEntry {
            client_name: "Kiss Anna".into(),
            account: "kiss.anna".into(),
            issuer: "Ügyfélkapu+".into(),
            secret: otp::parse_secret("JBSWY3DPEHPK3PXP").unwrap(),
            algorithm: OtpAlgorithm::Sha256,
            digits: 8,
            period: 60,
            recovery_code: None,
            notes: "irodai ügyfél".into(),
        }]
    }

    #[test]
    fn an_encrypted_vault_opens_with_its_password_only() {
        let file = write_encrypted(&sample(), "titkos jelszó").unwrap();
        let json: Value = serde_json::from_slice(&file).unwrap();
        let items = read(&json, Some("titkos jelszó"), &free()).unwrap();
        let e = items[0].as_ref().unwrap();
        assert_eq!(
            (e.account.as_str(), e.issuer.as_str(), e.digits, e.period),
            ("kiss.anna", "Ügyfélkapu+", 8, 60)
        );
        assert_eq!(e.secret, sample()[0].secret);
        assert_eq!(
            read(&json, Some("rossz"), &free()).unwrap_err(),
            FileError("vault.import_wrong_password")
        );
        assert_eq!(
            read(&json, None, &free()).unwrap_err(),
            FileError("vault.import_password_required")
        );
    }

    #[test]
    fn costly_key_derivation_is_refused_before_it_runs() {
        assert_eq!(
            capped_params(1 << 20, 8, 1, &free()).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
        assert_eq!(
            capped_params(1 << 15, 8, 64, &free()).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
        assert_eq!(
            capped_params(1000, 8, 1, &free()).unwrap_err(),
            FileError("vault.import_truncated")
        );
        assert!(capped_params(1 << 15, 8, 1, &free()).is_ok());
    }

    #[test]
    fn plain_vaults_of_both_versions_are_read() {
        let v3 = json!({"version": 1, "header": {"slots": null, "params": null}, "db": {"version": 3,
        "groups": [{"uuid": "g1", "name": "Könyvelés"}],
        "entries": [
            {"type": "totp", "name": "a", "issuer": "X", "note": "", "info": {"secret": "JBSWY3DPEHPK3PXP", "algo": "SHA1", "digits": 6, "period": 30}, "groups": ["g1"]},
            {"type": "hotp", "name": "b", "issuer": "Y", "info": {"secret": "JBSWY3DPEHPK3PXP"}},
            {"type": "totp", "name": "c", "issuer": "Z", "info": {"secret": "nope!"}}
        ]}});
        let items = read(&v3, None, &free()).unwrap();
        assert_eq!(items[0].as_ref().unwrap().notes, "Könyvelés");
        assert_eq!(
            items[1].as_ref().unwrap_err().reason,
            "vault.import_not_totp"
        );
        assert_eq!(
            items[2].as_ref().unwrap_err().reason,
            "vault.secret_not_base32"
        );
        let back = read(
            &serde_json::from_slice(&write_plain(&sample()).unwrap()).unwrap(),
            None,
            &free(),
        )
        .unwrap();
        assert_eq!(back[0].as_ref().unwrap().secret, sample()[0].secret);
    }
}
