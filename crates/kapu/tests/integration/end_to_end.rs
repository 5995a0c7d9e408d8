//! End-to-end encrypted documents: a sender encrypts to the office's `age` key with the
//! standard `age` tool, Kapu stores and forwards ciphertext it cannot read and signs the
//! receipt over the ciphertext's digest, and the office decrypts with `age` again.

use std::process::{Command, Stdio};

use reqwest::StatusCode;
use reqwest::multipart::Part;
use serde_json::json;
use sha2::Digest as _;

use crate::both;
use crate::harness::App;
use crate::mailbox::{citizen, download, form, post_form, town};

fn age_installed() -> bool {
    let ok = Command::new("age")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        static ONCE: std::sync::Once = std::sync::Once::new();
        crate::harness::skip(
            &ONCE,
            "the end-to-end encryption test",
            "install Debian's age",
        );
    }
    ok
}

fn age(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("age")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn documents_encrypted_to_the_office_key_pass_through_as_ciphertext(app: App) {
    if !age_installed() {
        return;
    }
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let identity = app.dir.join("office.key");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output()
        .unwrap();
    assert!(out.status.success());
    let key_file = std::fs::read_to_string(&identity).unwrap();
    let recipient = key_file
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    // The office's manager publishes its key (manage right, secure mode).
    kapu_grant_manage(&app, &t.maintainer).await;
    let manager = app.login("ugy.intezo@varos", "Ugyintezo-1", "secure").await;
    let (s, b) = app
        .send(
            "PATCH",
            &manager,
            "/api/v1/offices/VAROS-HIV",
            json!({"public_key": recipient}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, office) = app.get(&me, "/api/v1/offices/VAROS-HIV").await;
    assert_eq!(office["public_key"], recipient);

    let secret = b"Titkos orvosi lelet".to_vec();
    let ciphertext = age(&["-r", &recipient], &secret);
    let f = form("VAROS-HIV", "E2E-1", &[])
        .text("end_to_end", "true")
        .part(
            "document",
            Part::bytes(ciphertext.clone()).file_name("lelet.pdf.age"),
        );
    let (s, sent) = post_form(&app, &me, "me", f, None).await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["message"]["end_to_end"], true);
    // The receipt covers the ciphertext, the only bytes Kapu ever saw.
    assert_eq!(
        sent["message"]["documents"][0]["sha256"],
        hex::encode(sha2::Sha256::digest(&ciphertext))
    );
    let id = sent["message"]["id"].as_str().unwrap();
    let got = download(&app, &t.clerk, "VAROS-HIV", id, 1)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), ciphertext.as_slice());
    let plain = age(&["-d", "-i", identity.to_str().unwrap()], &got);
    assert_eq!(plain, secret);

    // A plain document is refused when the send says it is end to end.
    let f = form("VAROS-HIV", "E2E-2", &[("plain.pdf", b"%PDF plain")]).text("end_to_end", "true");
    let (s, b) = post_form(&app, &me, "me", f, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b.to_string().contains("message.not_age_encrypted"));
}

async fn kapu_grant_manage(app: &App, maintainer: &str) {
    crate::mailbox::grant(
        app,
        maintainer,
        "varos",
        "ugy.intezo",
        &[
            "hkp.VAROS-HIV.read".into(),
            "hkp.VAROS-HIV.send".into(),
            "hkp.VAROS-HIV.manage".into(),
        ],
    )
    .await;
}

both!(documents_encrypted_to_the_office_key_pass_through_as_ciphertext);
