//! Bitwarden's JSON export: login items whose `login.totp` holds an `otpauth://` address or a
//! bare base32 key. Password-protected exports (`"passwordProtected": true`) are refused by
//! name until their reader lands.

use serde_json::Value;

use super::{FileError, Invalid, Item, from_key, key_of};
use crate::vault::otp;

pub fn read(file: &Value, _password: Option<&str>) -> Result<Vec<Item>, FileError> {
    if file.get("encrypted").and_then(Value::as_bool) == Some(true) {
        return Err(FileError("vault.import_bitwarden_protected"));
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
        let items = read(&file, None).unwrap();
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
            read(&json!({"encrypted": true, "passwordProtected": true}), None).unwrap_err(),
            FileError("vault.import_bitwarden_protected")
        );
    }
}
