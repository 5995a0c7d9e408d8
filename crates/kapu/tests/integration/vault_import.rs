//! Vault import and export over HTTP: files of every format (the encrypted ones written by
//! an independent implementation, Python's `cryptography`, from the formats' published
//! descriptions), bad files, duplicates, the preview that stores nothing, progress, and an
//! export that imports again (and that the independent implementation opens).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, skip, split};
use crate::vault::{PW, SECRET, entry, office};

pub async fn preview(
    app: &App,
    token: &str,
    file: &[u8],
    password: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = Form::new().part("file", Part::bytes(file.to_vec()).file_name("export.json"));
    if let Some(p) = password {
        form = form.text("password", p.to_string());
    }
    let r = app
        .http
        .post(app.url("/api/v1/vault/imports"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    split(r).await
}

/// Confirms a preview and waits until it is stored.
pub async fn confirm(app: &App, token: &str, id: &str) -> Value {
    let (s, b) = app
        .send(
            "POST",
            token,
            &format!("/api/v1/vault/imports/{id}/confirm"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    for _ in 0..200 {
        let (_, b) = app.get(token, &format!("/api/v1/vault/imports/{id}")).await;
        if b["state"] != "running" {
            assert_eq!(b["state"], "done", "{b}");
            return b;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("import {id} did not finish");
}

fn field_code(e: &Value) -> &str {
    e["error"]["fields"][0]["code"].as_str().unwrap_or("")
}

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

async fn files_of_every_format_preview_then_import(app: App) {
    let o = office(&app, "iroda").await;
    // An otpauth list with a duplicate, an HOTP key and a bad secret.
    let list = format!(
        "otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:kiss.anna?secret={SECRET}&issuer=%C3%9Cgyf%C3%A9lkapu%2B\n\
         otpauth://totp/NAV:nagy.bela?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU&algorithm=SHA256&digits=8\n\
         otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:kiss.anna?secret={SECRET}&issuer=%C3%9Cgyf%C3%A9lkapu%2B\n\
         otpauth://hotp/Regi:szamlalo?secret={SECRET}&counter=4\n\
         otpauth://totp/Hibas:kulcs?secret=NEM-BASE32!\n"
    );
    let (s, p) = preview(&app, &o.admin, list.as_bytes(), None).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (
            p["format"].as_str(),
            p["total"].as_i64(),
            p["duplicates"].as_i64(),
            p["invalid"].as_i64()
        ),
        (Some("otpauth"), Some(2), Some(1), Some(2)),
        "{p}"
    );
    let statuses: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["new", "new", "duplicate", "invalid", "invalid"]);
    assert_eq!(p["items"][3]["reason"], "vault.import_hotp");
    assert_eq!(p["items"][4]["reason"], "vault.secret_not_base32");
    // Nothing is stored by a preview.
    let (_, list_now) = app.get(&o.admin, "/api/v1/vault/entries").await;
    assert_eq!(list_now["total"], 0);
    let done = confirm(&app, &o.admin, p["id"].as_str().unwrap()).await;
    assert_eq!(
        (done["done"].as_i64(), done["total"].as_i64()),
        (Some(2), Some(2))
    );
    let (_, listed) = app.get(&o.admin, "/api/v1/vault/entries").await;
    assert_eq!(listed["total"], 2, "{listed}");
    // Confirming twice is refused; the same file again is all duplicates.
    let (s, e) = app
        .send(
            "POST",
            &o.admin,
            &format!(
                "/api/v1/vault/imports/{}/confirm",
                p["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"));
    let (_, again) = preview(&app, &o.admin, list.as_bytes(), None).await;
    assert_eq!(
        (again["total"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(3))
    );

    // Google Authenticator's migration export.
    let google = kapu_core::vault::formats::google::write(vec![
        kapu_core::vault::formats::google::OtpParameters {
            secret: b"12345678901234567890".to_vec(),
            name: "Posta:kovacs.eva".into(),
            issuer: "Posta".into(),
            algorithm: 1,
            digits: 1,
            r#type: 2,
            counter: 0,
        },
    ]);
    let (s, p) = preview(&app, &o.admin, google.as_bytes(), None).await;
    assert_eq!(
        (s, p["format"].as_str(), p["total"].as_i64()),
        (StatusCode::CREATED, Some("google_migration"), Some(1)),
        "{p}"
    );
    assert_eq!(p["items"][0]["account"], "kovacs.eva");
    // A plain 2FAS backup and a Bitwarden export.
    let twofas = json!({"schemaVersion": 4, "services": [{"name": "MÁK", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "otp": {"account": "toth.jozsef", "issuer": "MÁK", "digits": 6, "period": 30, "algorithm": "SHA1", "tokenType": "TOTP"}}]});
    let (_, p) = preview(&app, &o.admin, twofas.to_string().as_bytes(), None).await;
    assert_eq!(
        (p["format"].as_str(), p["total"].as_i64()),
        (Some("two_fas"), Some(1)),
        "{p}"
    );
    let bitwarden = json!({"encrypted": false, "folders": [], "items": [
        {"type": 1, "name": "E-közmű", "login": {"username": "szabo.ildiko", "totp": "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"}},
        {"type": 1, "name": "Kulcs nélkül", "login": {"username": "x", "totp": null}}]});
    let (_, p) = preview(&app, &o.admin, bitwarden.to_string().as_bytes(), None).await;
    assert_eq!(
        (p["format"].as_str(), p["total"].as_i64()),
        (Some("bitwarden"), Some(1)),
        "{p}"
    );
    let (s, e) = preview(
        &app,
        &o.admin,
        json!({"encrypted": true, "passwordProtected": true, "data": "2.x|y|z"})
            .to_string()
            .as_bytes(),
        Some("pw"),
    )
    .await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_truncated")
    );

    // Files that cannot be read at all, each with its reason.
    for (file, key) in [
        (&b"{\"header\": {\"slots\": "[..], "vault.import_truncated"),
        (&b"just some text"[..], "vault.import_unknown_format"),
        (
            &b"otpauth-migration://offline?data=%%%"[..],
            "vault.import_truncated",
        ),
    ] {
        let (s, e) = preview(&app, &o.admin, file, None).await;
        assert_eq!(
            (s, field_code(&e)),
            (StatusCode::UNPROCESSABLE_ENTITY, key),
            "{}",
            String::from_utf8_lossy(file)
        );
    }
    let (s, e) = preview(&app, &o.admin, b"", None).await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_empty")
    );
    let (s, _) = preview(&app, &o.admin, &vec![b'a'; 8 * 1024 * 1024 + 1], None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // Only vault administrators (or a folder's managers) import.
    let (s, _) = preview(&app, &o.staff, list.as_bytes(), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Another user cannot see or confirm someone's preview.
    let (_, p) = preview(&app, &o.admin, google.as_bytes(), None).await;
    let (s, _) = app
        .send(
            "POST",
            &o.lead,
            &format!(
                "/api/v1/vault/imports/{}/confirm",
                p["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A preview left too long is gone.
    app.minutes(31);
    let o2 = crate::vault::open(&app, "fokonyvelo@iroda").await;
    let (s, e) = app
        .send(
            "POST",
            &o2,
            &format!(
                "/api/v1/vault/imports/{}/confirm",
                p["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, "gone"), "{e}");
}

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

/// A picture of a QR code holding `text`, as a screenshot of a portal would show it.
fn qr_picture(text: &str, format: image::ImageFormat) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let (w, colors) = (code.width(), code.to_colors());
    let (scale, quiet) = (6, 4);
    let side = ((w + 2 * quiet) * scale) as u32;
    let picture = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x as usize / scale, y as usize / scale);
        let inside = (quiet..w + quiet).contains(&mx) && (quiet..w + quiet).contains(&my);
        let dark = inside && colors[(my - quiet) * w + (mx - quiet)] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, format).unwrap();
    out.into_inner()
}

async fn pictures_of_qr_codes_are_read_on_the_server(app: App) {
    let o = office(&app, "iroda").await;
    let uri = format!("otpauth://totp/NAV:kiss.anna?secret={SECRET}&issuer=NAV&digits=8");
    let (s, p) = preview(
        &app,
        &o.admin,
        &qr_picture(&uri, image::ImageFormat::Png),
        None,
    )
    .await;
    assert_eq!(
        (s, p["format"].as_str(), p["total"].as_i64()),
        (StatusCode::CREATED, Some("qr_image"), Some(1)),
        "{p}"
    );
    assert_eq!(p["items"][0]["account"], "kiss.anna");
    let google = kapu_core::vault::formats::google::write(vec![
        kapu_core::vault::formats::google::OtpParameters {
            secret: b"12345678901234567890".to_vec(),
            name: "Posta:kovacs.eva".into(),
            issuer: "Posta".into(),
            algorithm: 1,
            digits: 1,
            r#type: 2,
            counter: 0,
        },
    ]);
    let (s, p) = preview(
        &app,
        &o.admin,
        &qr_picture(&google, image::ImageFormat::Jpeg),
        None,
    )
    .await;
    assert_eq!(
        (s, p["total"].as_i64()),
        (StatusCode::CREATED, Some(1)),
        "{p}"
    );
    confirm(&app, &o.admin, p["id"].as_str().unwrap()).await;
    let (_, listed) = app.get(&o.admin, "/api/v1/vault/entries?q=kovacs").await;
    assert_eq!(listed["total"], 1);
    // A picture without a code, and one too large to be a screenshot.
    let blank = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::GrayImage::from_pixel(200, 200, image::Luma([255]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let (s, e) = preview(&app, &o.admin, &blank, None).await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_no_qr")
    );
    let huge = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::GrayImage::from_pixel(7000, 2, image::Luma([255]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let (s, e) = preview(&app, &o.admin, &huge, None).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_image_too_large"
        )
    );
    let (s, e) = preview(
        &app,
        &o.admin,
        &qr_picture(&uri, image::ImageFormat::Png)[..60],
        None,
    )
    .await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_truncated")
    );
}

both!(
    pictures_of_qr_codes_are_read_on_the_server,
    files_of_every_format_preview_then_import,
    encrypted_files_of_an_independent_writer,
    an_export_imports_again_and_opens_elsewhere,
);
