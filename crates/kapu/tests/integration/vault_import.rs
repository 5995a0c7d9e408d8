//! Vault import over HTTP: files of every plain format and pictures of QR codes, bad files
//! with their reasons, duplicates, the preview that stores nothing, progress, and previews
//! that expire.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, split};
use crate::vault::{SECRET, office};

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

pub fn field_code(e: &Value) -> &str {
    e["error"]["fields"][0]["code"].as_str().unwrap_or("")
}

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
    // An import whose process stopped while it ran is reported failed an hour later.
    let (_, stalled) = preview(&app, &o2, google.as_bytes(), None).await;
    let stalled = stalled["id"].as_str().unwrap().to_string();
    sqlx::query("UPDATE vault_imports SET state = 'running' WHERE id = $1")
        .bind(&stalled)
        .execute(app.kapu.db().pool())
        .await
        .unwrap();
    app.minutes(61);
    let o3 = crate::vault::open(&app, "fokonyvelo@iroda").await;
    let (s, _) = preview(&app, &o3, google.as_bytes(), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app
        .get(&o3, &format!("/api/v1/vault/imports/{stalled}"))
        .await;
    assert_eq!(v["state"], "failed", "{v}");
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

/// A preview compares with the entries the importer can see: a key of a folder they may
/// not open is "new" to them, never confirmed as "duplicate".
async fn a_preview_confirms_no_entry_the_importer_cannot_see(app: App) {
    let o = office(&app, "iroda").await;
    let folder = |name: &'static str| {
        let app = &app;
        let admin = o.admin.clone();
        async move {
            let (s, f) = app
                .send(
                    "POST",
                    &admin,
                    "/api/v1/vault/folders",
                    json!({"name": name}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{f}");
            f["id"].as_str().unwrap().to_string()
        }
    };
    let (hidden, own) = (folder("Titkos").await, folder("Saját").await);
    crate::vault::entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "issuer": "NAV", "account": "kiss.anna",
               "secret": SECRET, "folder_id": hidden}),
    )
    .await;
    crate::vault::delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/folders/{own}/grants"),
        json!({"user": "munkatars@iroda", "level": "manage"}),
    )
    .await;
    let guess = format!("otpauth://totp/NAV:kiss.anna?secret={SECRET}&issuer=NAV\n");
    let form = Form::new()
        .part(
            "file",
            Part::bytes(guess.into_bytes()).file_name("kulcsok.txt"),
        )
        .text("folder_id", own.clone());
    let r = app
        .http
        .post(app.url("/api/v1/vault/imports"))
        .bearer_auth(&o.staff)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (s, p) = split(r).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["items"][0]["status"], "new", "{p}");
    // The vault administrator, who sees it, is told it is there.
    let (s, p) = preview(
        &app,
        &o.admin,
        format!("otpauth://totp/NAV:kiss.anna?secret={SECRET}&issuer=NAV\n").as_bytes(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["items"][0]["status"], "duplicate", "{p}");
}

both!(
    a_preview_confirms_no_entry_the_importer_cannot_see,
    pictures_of_qr_codes_are_read_on_the_server,
    files_of_every_format_preview_then_import,
);
