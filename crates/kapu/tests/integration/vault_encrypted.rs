//! Encrypted vault files over HTTP, against an independent implementation (Python's
//! `cryptography`, following each format's published description): Aegis, 2FAS and
//! Bitwarden files it writes are imported (wrong password, truncated file and over-costly
//! key derivation refused); Kapu's exports import again, and the independent reader opens
//! the encrypted one as the Aegis app would.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, skip};
use crate::vault::{PW, SECRET, entry, office};
use crate::vault_import::{confirm, field_code, preview};

/// Runs a Python script with `cryptography`; `None` (after a skip line) where it is missing.
fn python(script: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        Ok(o) if !String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            panic!("python failed: {}", String::from_utf8_lossy(&o.stderr))
        }
        _ => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            skip(
                &ONCE,
                "vault files written by an independent implementation",
                "install Python 3 with the cryptography package (pip install cryptography)",
            );
            None
        }
    }
}

/// An encrypted Aegis vault as its documentation describes it (scrypt key slot, AES-256-GCM).
const AEGIS_WRITER: &str = r#"
import base64, json, os, sys, uuid
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
password, n, entries = sys.argv[1].encode(), int(sys.argv[2]), json.loads(sys.argv[3])
master, salt = os.urandom(32), os.urandom(32)
derived = Scrypt(salt=salt, length=32, n=min(n, 1 << 15), r=8, p=1).derive(password)
def seal(key, data):
    nonce = os.urandom(12)
    out = AESGCM(key).encrypt(nonce, data, None)
    return out[:-16], {"nonce": nonce.hex(), "tag": out[-16:].hex()}
wrapped, key_params = seal(derived, master)
db = {"version": 3, "groups": [], "entries": [{"type": "totp", "uuid": str(uuid.uuid4()), "name": e[1], "issuer": e[0],
      "note": "", "favorite": False, "icon": None, "groups": [],
      "info": {"secret": e[2], "algo": e[3], "digits": e[4], "period": 30}} for e in entries]}
body, params = seal(master, json.dumps(db).encode())
print(json.dumps({"version": 1, "header": {"slots": [{"type": 1, "uuid": str(uuid.uuid4()), "key": wrapped.hex(),
      "key_params": key_params, "n": n, "r": 8, "p": 1, "salt": salt.hex(), "repaired": True}], "params": params},
      "db": base64.b64encode(body).decode()}))
"#;

/// Opens an encrypted Aegis vault as the Aegis app does; prints its entries.
const AEGIS_READER: &str = r#"
import base64, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
vault, password = json.loads(open(sys.argv[1]).read()), sys.argv[2].encode()
slot = [s for s in vault["header"]["slots"] if s["type"] == 1][0]
key = Scrypt(salt=bytes.fromhex(slot["salt"]), length=32, n=slot["n"], r=slot["r"], p=slot["p"]).derive(password)
master = AESGCM(key).decrypt(bytes.fromhex(slot["key_params"]["nonce"]),
    bytes.fromhex(slot["key"]) + bytes.fromhex(slot["key_params"]["tag"]), None)
p = vault["header"]["params"]
db = json.loads(AESGCM(master).decrypt(bytes.fromhex(p["nonce"]), base64.b64decode(vault["db"]) + bytes.fromhex(p["tag"]), None))
print(json.dumps([[e["issuer"], e["name"], e["info"]["secret"], e["info"]["algo"], e["info"]["digits"]] for e in db["entries"]]))
"#;

/// A password-protected Bitwarden export: PBKDF2-SHA-256 over the salt's text, the key
/// stretched by HKDF into encryption and MAC keys, and `2.iv|data|mac` strings
/// (AES-256-CBC, HMAC-SHA-256).
const BITWARDEN_WRITER: &str = r#"
import base64, hashlib, hmac, json, os, sys
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
password, rounds = sys.argv[1].encode(), int(sys.argv[2])
salt = base64.b64encode(os.urandom(16)).decode()
key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt.encode(), iterations=rounds).derive(password)
enc = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=b"enc").derive(key)
mac = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=b"mac").derive(key)
b = lambda x: base64.b64encode(x).decode()
def enc_string(plain):
    iv, pad = os.urandom(16), padding.PKCS7(128).padder()
    data = pad.update(plain) + pad.finalize()
    e = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    ct = e.update(data) + e.finalize()
    return "2." + b(iv) + "|" + b(ct) + "|" + b(hmac.new(mac, iv + ct, hashlib.sha256).digest())
inner = {"encrypted": False, "folders": [], "items": [{"type": 1, "name": "E-kozmu", "notes": None,
         "login": {"username": "szabo.ildiko", "totp": "otpauth://totp/E-kozmu:szabo.ildiko?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=E-kozmu"}}]}
print(json.dumps({"encrypted": True, "passwordProtected": True, "salt": salt, "kdfType": 0, "kdfIterations": rounds,
      "kdfMemory": None, "kdfParallelism": None, "encKeyValidation_DO_NOT_EDIT": enc_string(os.urandom(16).hex().encode()),
      "data": enc_string(json.dumps(inner).encode())}))
"#;

/// A password-protected 2FAS backup: PBKDF2-HMAC-SHA256 (10,000 rounds) and AES-256-GCM.
const TWOFAS_WRITER: &str = r#"
import base64, json, os, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
password = sys.argv[1].encode()
services = [{"name": "NAV", "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otp": {"account": "nagy.bela", "issuer": "NAV",
             "digits": 6, "period": 30, "algorithm": "SHA1", "tokenType": "TOTP"}}]
salt, iv = os.urandom(256), os.urandom(12)
key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=10000).derive(password)
body = AESGCM(key).encrypt(iv, json.dumps(services).encode(), None)
b = lambda x: base64.b64encode(x).decode()
print(json.dumps({"services": [], "groups": [], "schemaVersion": 4, "appVersionCode": 5000000,
      "servicesEncrypted": b(body) + ":" + b(salt) + ":" + b(iv)}))
"#;

async fn encrypted_files_of_an_independent_writer(app: App) {
    let o = office(&app, "iroda").await;
    let entries = json!([
        ["Ügyfélkapu+", "kiss.anna", SECRET, "SHA1", 6],
        [
            "NAV",
            "nagy.bela",
            "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
            "SHA512",
            8
        ]
    ])
    .to_string();
    let Some(aegis) = python(AEGIS_WRITER, &["Aegis-Jelszo-1", "32768", &entries]) else {
        return;
    };
    let (s, e) = preview(&app, &o.admin, aegis.as_bytes(), Some("rossz jelszó")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_wrong_password"
        )
    );
    let (s, e) = preview(&app, &o.admin, aegis.as_bytes(), None).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_password_required"
        )
    );
    let (s, e) = preview(
        &app,
        &o.admin,
        &aegis.as_bytes()[..aegis.len() / 2],
        Some("Aegis-Jelszo-1"),
    )
    .await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_truncated")
    );
    // A slot asking for 2^22 × 8 scrypt work is refused before any is done.
    let costly = python(AEGIS_WRITER, &["Aegis-Jelszo-1", "4194304", &entries]).unwrap();
    let (s, e) = preview(&app, &o.admin, costly.as_bytes(), Some("Aegis-Jelszo-1")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_kdf_too_costly"
        )
    );
    let (s, p) = preview(&app, &o.admin, aegis.as_bytes(), Some("Aegis-Jelszo-1")).await;
    assert_eq!(
        (s, p["format"].as_str(), p["total"].as_i64()),
        (StatusCode::CREATED, Some("aegis"), Some(2)),
        "{p}"
    );
    confirm(&app, &o.admin, p["id"].as_str().unwrap()).await;
    let (_, listed) = app.get(&o.admin, "/api/v1/vault/entries?q=nagy").await;
    assert_eq!(
        (
            listed["items"][0]["algorithm"].as_str(),
            listed["items"][0]["digits"].as_i64()
        ),
        (Some("SHA512"), Some(8)),
        "{listed}"
    );
    let twofas = python(TWOFAS_WRITER, &["2fas-jelszo"]).unwrap();
    let (s, e) = preview(&app, &o.admin, twofas.as_bytes(), Some("rossz")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_wrong_password"
        )
    );
    let (s, p) = preview(&app, &o.admin, twofas.as_bytes(), Some("2fas-jelszo")).await;
    assert_eq!(
        (s, p["format"].as_str(), p["duplicates"].as_i64()),
        (StatusCode::CREATED, Some("two_fas"), Some(0)),
        "{p}"
    );
    let bitwarden = python(BITWARDEN_WRITER, &["Bitwarden-Jelszo-1", "100000"]).unwrap();
    let (s, e) = preview(&app, &o.admin, bitwarden.as_bytes(), Some("rossz")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_wrong_password"
        )
    );
    let (s, p) = preview(
        &app,
        &o.admin,
        bitwarden.as_bytes(),
        Some("Bitwarden-Jelszo-1"),
    )
    .await;
    assert_eq!(
        (s, p["format"].as_str(), p["total"].as_i64()),
        (StatusCode::CREATED, Some("bitwarden"), Some(1)),
        "{p}"
    );
    assert_eq!(p["items"][0]["account"], "szabo.ildiko");
    let greedy = python(BITWARDEN_WRITER, &["Bitwarden-Jelszo-1", "1"])
        .unwrap()
        .replace("\"kdfIterations\": 1,", "\"kdfIterations\": 50000000,");
    let (s, e) = preview(
        &app,
        &o.admin,
        greedy.as_bytes(),
        Some("Bitwarden-Jelszo-1"),
    )
    .await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_kdf_too_costly"
        )
    );
}

async fn an_export_imports_again_and_opens_elsewhere(app: App) {
    let o = office(&app, "iroda").await;
    for (name, issuer, secret, algorithm, digits) in [
        ("Kiss Anna", "Ügyfélkapu+", SECRET, "SHA1", 6),
        (
            "Nagy Béla",
            "NAV",
            "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
            "SHA256",
            8,
        ),
    ] {
        entry(&app, &o.admin, json!({"client_name": name, "account": name.to_lowercase().replace(' ', "."), "issuer": issuer,
            "secret": secret, "algorithm": algorithm, "digits": digits})).await;
    }
    let export = |body: Value| {
        let (app, token) = (&app, o.admin.clone());
        async move {
            let r = app
                .http
                .post(app.url("/api/v1/vault/export"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.bytes().await.unwrap().to_vec())
        }
    };
    // The password again, a long enough file password, and for a plain file a confirmation.
    for (bad, key) in [
        (
            json!({"password": "Rossz-Jelszo1", "format": "aegis", "file_password": "eleg-hosszu-jelszo"}),
            "password.current_wrong",
        ),
        (
            json!({"password": PW, "format": "aegis", "file_password": "rovid"}),
            "vault.export_password_short",
        ),
        (
            json!({"password": PW, "format": "otpauth"}),
            "vault.export_confirm_plain",
        ),
    ] {
        let (s, body) = export(bad.clone()).await;
        let e: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (s, field_code(&e)),
            (StatusCode::UNPROCESSABLE_ENTITY, key),
            "{bad}"
        );
    }
    // Normal mode may not export.
    let normal = app.login("fokonyvelo@iroda", PW, "normal").await;
    app.send(
        "POST",
        &normal,
        "/api/v1/vault/unlock",
        json!({"password": PW}),
    )
    .await;
    let (s, e) = app
        .send(
            "POST",
            &normal,
            "/api/v1/vault/export",
            json!({"password": PW, "format": "otpauth", "confirm_plain": true}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );

    let (s, plain) =
        export(json!({"password": PW, "format": "otpauth", "confirm_plain": true})).await;
    assert_eq!(s, StatusCode::OK);
    let plain = String::from_utf8(plain).unwrap();
    assert_eq!(plain.lines().count(), 2);
    assert!(plain.contains(SECRET), "{plain}");
    let (s, aegis) =
        export(json!({"password": PW, "format": "aegis", "file_password": "Export-Jelszo-2026"}))
            .await;
    assert_eq!(s, StatusCode::OK);
    // Both import again as the same entries: all duplicates of the vault.
    for (file, password) in [
        (plain.as_bytes().to_vec(), None),
        (aegis.clone(), Some("Export-Jelszo-2026")),
    ] {
        let (s, p) = preview(&app, &o.admin, &file, password).await;
        assert_eq!(
            (s, p["duplicates"].as_i64(), p["total"].as_i64()),
            (StatusCode::CREATED, Some(2), Some(0)),
            "{p}"
        );
    }
    // Another office imports them as new, with the same codes.
    let other = office(&app, "masik").await;
    let (_, p) = preview(&app, &other.admin, &aegis, Some("Export-Jelszo-2026")).await;
    confirm(&app, &other.admin, p["id"].as_str().unwrap()).await;
    let (_, listed) = app.get(&other.admin, "/api/v1/vault/entries?q=nagy").await;
    assert_eq!(
        (
            listed["items"][0]["algorithm"].as_str(),
            listed["items"][0]["digits"].as_i64()
        ),
        (Some("SHA256"), Some(8))
    );
    // The business log names every exported entry.
    let (_, log) = app
        .get(
            &app.admin().await,
            "/api/v1/audit?action=vault.export&per_page=10",
        )
        .await;
    let exported = log["items"].as_array().unwrap();
    assert_eq!(exported.len(), 2, "{log}");
    assert_eq!(
        exported[0]["details"]["entries"].as_array().unwrap().len(),
        2
    );
    // An independent reader opens the encrypted file as the Aegis app would.
    let path = app.dir.join("export-aegis.json");
    std::fs::write(&path, &aegis).unwrap();
    if let Some(out) = python(
        AEGIS_READER,
        &[path.to_str().unwrap(), "Export-Jelszo-2026"],
    ) {
        let entries: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            entries,
            json!([
                ["Ügyfélkapu+", "kiss.anna", SECRET, "SHA1", 6],
                [
                    "NAV",
                    "nagy.béla",
                    "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
                    "SHA256",
                    8
                ]
            ])
        );
    }
}

both!(
    encrypted_files_of_an_independent_writer,
    an_export_imports_again_and_opens_elsewhere,
);
