//! Receipts: a changed receipt does not verify, rotation keeps old receipts verifiable, and
//! the console checks a receipt file.

use crate::both;
use crate::harness::App;
use crate::mailbox::{citizen, form, post_form, town, verify};

async fn a_receipt_changed_by_one_byte_does_not_verify(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (_, sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("a.pdf", b"a")]),
        None,
    )
    .await;
    let jws = sent["receipt"].as_str().unwrap();
    let jwks = app.kapu.keys().jwks().await.unwrap();
    assert!(kapu_core::platform::keys::verify_jws(jws, &jwks).is_ok());
    let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload = b64.decode(&parts[1]).unwrap();
    let i = payload.iter().position(|b| *b == b'R').unwrap();
    payload[i] = b'S';
    parts[1] = b64.encode(payload);
    let forged = parts.join(".");
    assert!(kapu_core::platform::keys::verify_jws(&forged, &jwks).is_err());
    // Rotation keeps the old key published: the old receipt still verifies.
    app.kapu.keys().rotate(app.kapu.now()).await.unwrap();
    let jwks = app.kapu.keys().jwks().await.unwrap();
    assert_eq!(jwks.keys.len(), 2);
    assert!(kapu_core::platform::keys::verify_jws(jws, &jwks).is_ok());
    let _ = verify(&app, jws).await;
}

/// `kapu verify-receipt` checks a downloaded receipt against the published keys.
async fn the_console_verifies_a_receipt_file_and_refuses_a_changed_one(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (_, sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("a.pdf", b"a")]),
        None,
    )
    .await;
    let jws = sent["receipt"].as_str().unwrap();
    let good = app.dir.join("good.jws");
    std::fs::write(&good, jws).unwrap();
    let bad = app.dir.join("bad.jws");
    let mut changed = jws.as_bytes().to_vec();
    let i = changed.len() / 3;
    changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
    std::fs::write(&bad, changed).unwrap();
    let jwks = app.url("/.well-known/jwks.json");
    let run = |file: std::path::PathBuf| {
        let jwks = jwks.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_kapu"))
                .args(["verify-receipt", file.to_str().unwrap(), "--jwks", &jwks])
                .env("KAPU_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let out = run(good).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("receipt valid") && text.contains("VAROS-HIV"),
        "{text}"
    );
    let out = run(bad).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT valid"));
}

both!(
    a_receipt_changed_by_one_byte_does_not_verify,
    the_console_verifies_a_receipt_file_and_refuses_a_changed_one,
);
