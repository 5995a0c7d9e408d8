//! The receipted mailbox over HTTP: offices and the directory, rights, sending with arrival
//! numbers and receipts, idempotent resends, downloads and delivery, expiry, size limits.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, split};

/// Creates an office in a tenant as the central administrator.
pub async fn office(app: &App, admin: &str, tenant: &str, short: &str, name: &str) -> Value {
    let (s, b) = app
        .send(
            "POST",
            admin,
            "/api/v1/offices",
            json!({"short_name": short, "name": name, "tenant": tenant,
                   "office_type": "onkormanyzat", "connection": "both"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

/// Grants roles to a user (replacing their individual roles).
pub async fn grant(app: &App, maintainer: &str, tenant: &str, login: &str, roles: &[String]) {
    let (s, b) = app
        .send(
            "PUT",
            maintainer,
            &format!("/api/v1/tenants/{tenant}/users/{login}/rights"),
            json!({"roles": roles}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

pub fn form(recipient: &str, reference: &str, docs: &[(&str, &[u8])]) -> Form {
    let mut f = Form::new()
        .text("recipient", recipient.to_string())
        .text("doc_type", "AKLKL")
        .text("doc_type_desc", "Adóbevallás")
        .text("reference", reference.to_string())
        .text("receipt_requested", "true");
    for (name, bytes) in docs {
        f = f.part(
            "document",
            Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    f
}

pub async fn post_form(
    app: &App,
    token: &str,
    mailbox: &str,
    form: Form,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/mailboxes/{mailbox}/messages")))
        .bearer_auth(token)
        .multipart(form);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    split(req.send().await.unwrap()).await
}

/// Closes an office as the central administrator.
pub async fn close_office(app: &App, admin: &str, short: &str) {
    let path = format!("/api/v1/offices/{short}/close");
    let (s, b) = app.send("POST", admin, &path, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["closed"], true);
}

/// A tenant `varos` with an office `VAROS-HIV`, and a clerk who may read and send there.
pub struct Town {
    pub admin: String,
    pub maintainer: String,
    pub clerk: String,
}

pub async fn town(app: &App) -> Town {
    let admin = app.admin().await;
    let maintainer = app.tenant_with_admin("varos").await;
    office(
        app,
        &admin,
        "varos",
        "VAROS-HIV",
        "Város Polgármesteri Hivatala",
    )
    .await;
    app.user(&maintainer, "varos", "ugy.intezo", "Ugyintezo-1")
        .await;
    grant(
        app,
        &maintainer,
        "varos",
        "ugy.intezo",
        &["hkp.VAROS-HIV.read".into(), "hkp.VAROS-HIV.send".into()],
    )
    .await;
    let clerk = app.login("ugy.intezo@varos", "Ugyintezo-1", "normal").await;
    Town {
        admin,
        maintainer,
        clerk,
    }
}

pub async fn citizen(app: &App, admin: &str) -> String {
    app.user(admin, "kozpont", "kis.janos", "Kis-Janos-1").await;
    app.login("kis.janos@kozpont", "Kis-Janos-1", "normal")
        .await
}

pub async fn download(
    app: &App,
    token: &str,
    mailbox: &str,
    id: &str,
    n: i64,
) -> reqwest::Response {
    app.http
        .get(app.url(&format!(
            "/api/v1/mailboxes/{mailbox}/messages/{id}/documents/{n}"
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Checks a receipt with an independent JOSE library against the published JWKS.
pub async fn verify(app: &App, jws: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    verify_with(app, jws, &validation).await
}

/// Verifies a JWS with the key the published JWKS names, under `validation`.
pub async fn verify_with(app: &App, jws: &str, validation: &jsonwebtoken::Validation) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(jws).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<Value>(jws, &key, validation)
        .unwrap()
        .claims
}

async fn a_citizen_sends_to_an_office_and_the_office_downloads_it_with_receipts(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let pdf = b"%PDF-1.4 kerelem".as_slice();
    let (s, sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "K-2026/1", &[("kérelem.pdf", pdf)]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let number = sent["message"]["arrival_number"].as_str().unwrap();
    let machine = sent["message"]["arrival_number_machine"].as_str().unwrap();
    assert!(number.starts_with("000000001-"), "{number}");
    assert_eq!(machine.len(), 27);
    assert!(machine.chars().all(|c| c.is_ascii_digit()));
    // The submission receipt verifies with a standard library and names what was sent.
    let claims = verify(&app, sent["receipt"].as_str().unwrap()).await;
    assert_eq!(claims["receipt"], "submission");
    assert_eq!(claims["arrival_number"], number);
    assert_eq!(claims["recipient"]["mailbox"], "VAROS-HIV");
    assert_eq!(claims["sender"]["mailbox"], "kis.janos@kozpont");
    let sha = sent["message"]["documents"][0]["sha256"].as_str().unwrap();
    assert_eq!(claims["documents"][0]["sha256"], sha);

    // The office sees it in its inbox; the citizen sees the receipt as a system message.
    let id = sent["message"]["id"].as_str().unwrap();
    let (s, inbox) = app
        .get(&t.clerk, "/api/v1/mailboxes/VAROS-HIV/messages")
        .await;
    assert_eq!(s, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["total"], 1);
    assert_eq!(inbox["items"][0]["state"], "new");
    assert_eq!(inbox["items"][0]["sender_name"], "Teszt kis.janos");
    let (_, receipts) = app
        .get(&me, "/api/v1/mailboxes/me/messages?folder=receipts")
        .await;
    assert_eq!(receipts["total"], 1);
    assert_eq!(receipts["items"][0]["kind"], "system");
    assert_eq!(receipts["items"][0]["doc_type"], "VisszaIG");

    // Downloading delivers once and sends the delivery receipt.
    let r = download(&app, &t.clerk, "VAROS-HIV", id, 1).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Opened in a browser anyway, a document runs in a sandbox of its own.
    assert_eq!(
        r.headers()["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(
        r.headers()["repr-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha-256=:")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), pdf);
    let _ = download(&app, &t.clerk, "VAROS-HIV", id, 1)
        .await
        .bytes()
        .await;
    let (_, msg) = app
        .get(&me, &format!("/api/v1/mailboxes/me/messages/{id}"))
        .await;
    assert_eq!(msg["state"], "delivered");
    let kinds: Vec<&str> = msg["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["submission", "delivery"]);
    let delivery = verify(&app, msg["receipts"][1]["jws"].as_str().unwrap()).await;
    assert_eq!(delivery["receipt"], "delivery");
    assert!(delivery["event_at"].is_string());
    // The receipt also downloads as a .jws file from its system message.
    let sys = msg["receipts"][1]["message_id"].as_str().unwrap();
    let r = app
        .http
        .get(app.url(&format!("/api/v1/mailboxes/me/messages/{sys}/receipt")))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jose");

    // The office replies to the citizen.
    let reply =
        form("", "V-1", &[("valasz.pdf", b"%PDF valasz")]).text("in_reply_to", id.to_string());
    let (s, b) = post_form(&app, &t.clerk, "VAROS-HIV", reply, None).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["message"]["recipient"], "kis.janos@kozpont");
    assert_eq!(b["message"]["kind"], "office");
    let (_, inbox) = app
        .get(&me, "/api/v1/mailboxes/me/messages?folder=inbox")
        .await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["sender_name"] == "VAROS-HIV")
    );

    // Arrival numbers go up and never repeat.
    let (_, all) = app
        .get(&me, "/api/v1/mailboxes/me/messages?per_page=100")
        .await;
    let mut seqs: Vec<u64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["arrival_number"]
                .as_str()
                .unwrap()
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let n = seqs.len();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), n);
    let _ = t.maintainer;
}

async fn a_resend_with_the_same_key_returns_the_first_result_and_other_content_conflicts(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let doc: &[u8] = b"same bytes";
    let (s, first) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R-1", &[("a.pdf", doc)]),
        Some("key-1"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R-1", &[("a.pdf", doc)]),
        Some("key-1"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(
        again["message"]["arrival_number"],
        first["message"]["arrival_number"]
    );
    assert_eq!(again["receipt"], first["receipt"]);
    let (s, other) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R-1", &[("a.pdf", b"other bytes")]),
        Some("key-1"),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{other}");
    let (_, sent) = app
        .get(&me, "/api/v1/mailboxes/me/messages?folder=sent")
        .await;
    assert_eq!(sent["total"], 1);
    // Nothing of the repeats stayed in the blob store: one document, one blob.
    assert_eq!(blob_count(&app), 1);
}

/// Every file under a directory, at any depth.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Blobs in the local store (the store's own staging files, named with `#`, aside).
pub fn blob_count(app: &App) -> usize {
    files_under(&app.dir.join("blobs"))
        .iter()
        .filter(|p| !p.to_string_lossy().contains('#'))
        .count()
}

async fn bad_sends_are_refused_with_clear_errors_and_leave_nothing(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let doc: &[u8] = b"x";
    let cases = [
        (
            form("NINCS-ILYEN", "R", &[("a.pdf", doc)]),
            "recipient",
            "message.recipient_unknown",
        ),
        (
            form("VAROS-HIV", "R", &[]),
            "documents",
            "message.no_documents",
        ),
        (
            form("VAROS-HIV", "", &[("a.pdf", doc)]),
            "reference",
            "message.reference_required",
        ),
        (
            form("VAROS-HIV", "R", &[("a.pdf", doc)]).text("doc_type", "1 rossz"),
            "doc_type",
            "message.doc_type_format",
        ),
        (
            form("VAROS-HIV", "R", &[("a.pdf", doc)]).text("end_to_end", "true"),
            "end_to_end",
            "message.no_public_key",
        ),
    ];
    for (f, field, key) in cases {
        let (s, b) = post_form(&app, &me, "me", f, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let fields = b["error"]["fields"].as_array().unwrap();
        assert!(
            fields
                .iter()
                .any(|f| f["field"] == field && f["code"] == key),
            "{field} {key}: {b}"
        );
    }
    // A closed office takes no new mail.
    close_office(&app, &t.admin, "VAROS-HIV").await;
    let (s, b) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("a.pdf", doc)]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.to_string().contains("mailbox.closed"), "{b}");
    // Someone without the send right cannot send from the office, and sees no such mailbox.
    let (s, b) = post_form(
        &app,
        &me,
        "VAROS-HIV",
        form("VAROS-HIV", "R", &[("a.pdf", doc)]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(blob_count(&app), 0);
}

async fn an_oversize_document_is_cut_off_with_413_and_leaves_nothing(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (s, b) = app
        .send(
            "PUT",
            &t.admin,
            "/api/v1/settings/mailbox_max_document_mb",
            json!({"value": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let big = vec![7u8; 1024 * 1024 + 1];
    let (s, b) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("small.pdf", b"ok"), ("big.bin", &big)]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(code(&b), "payload_too_large");
    assert_eq!(blob_count(&app), 0);
    let exact = vec![7u8; 1024 * 1024];
    let (s, b) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("exact.bin", &exact)]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn an_uncollected_message_expires_with_a_non_delivery_receipt(app: App) {
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
    let id = sent["message"]["id"].as_str().unwrap().to_string();
    app.days(29);
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().expired, 0);
    app.days(2);
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().expired, 1);
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().expired, 0);
    let clerk = app.login("ugy.intezo@varos", "Ugyintezo-1", "normal").await;
    let (_, b) = app
        .get(
            &clerk,
            &format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}"),
        )
        .await;
    assert_eq!(b["state"], "expired");
    assert_eq!(b["documents"][0]["available"], false);
    let r = download(&app, &clerk, "VAROS-HIV", &id, 1).await;
    assert_eq!(r.status(), StatusCode::GONE);
    let me = app
        .login("kis.janos@kozpont", "Kis-Janos-1", "normal")
        .await;
    let (_, b) = app
        .get(&me, &format!("/api/v1/mailboxes/me/messages/{id}"))
        .await;
    let last = b["receipts"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "non_delivery");
    assert_eq!(
        verify(&app, last["jws"].as_str().unwrap()).await["receipt"],
        "non_delivery"
    );
    assert_eq!(blob_count(&app), 0);
}

/// Sends that arrive together are filed together; a repeat inside the same group is settled
/// by its savepoint without touching the others.
async fn concurrent_sends_with_a_shared_key_file_once_beside_the_others(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (http, url, token) = (
            app.http.clone(),
            app.url("/api/v1/mailboxes/me/messages"),
            me.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (key, reference) = if i % 2 == 0 {
                ("shared".to_string(), "SAME".to_string())
            } else {
                (format!("own-{i}"), format!("R-{i}"))
            };
            let r = http
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .multipart(form(
                    "VAROS-HIV",
                    &reference,
                    &[("a.pdf", b"same document")],
                ))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            (
                i,
                status,
                body["message"]["arrival_number"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        }));
    }
    let mut shared = std::collections::HashSet::new();
    for t in tasks {
        let (i, status, number) = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{i}: {status}"
        );
        if i % 2 == 0 {
            shared.insert(number);
        }
    }
    assert_eq!(shared.len(), 1, "every repeat got the first arrival number");
    let (_, sent) = app
        .get(&me, "/api/v1/mailboxes/me/messages?folder=sent")
        .await;
    assert_eq!(sent["total"], 11);
    let (_, receipts) = app
        .get(&me, "/api/v1/mailboxes/me/messages?folder=receipts")
        .await;
    assert_eq!(receipts["total"], 11);
    let check = app.kapu.verify_audit_chain().await.unwrap();
    assert!(
        matches!(check, kapu_core::platform::audit::ChainCheck::Intact { .. }),
        "{check:?}"
    );
}

both!(
    concurrent_sends_with_a_shared_key_file_once_beside_the_others,
    a_citizen_sends_to_an_office_and_the_office_downloads_it_with_receipts,
    a_resend_with_the_same_key_returns_the_first_result_and_other_content_conflicts,
    bad_sends_are_refused_with_clear_errors_and_leave_nothing,
    an_oversize_document_is_cut_off_with_413_and_leaves_nothing,
    an_uncollected_message_expires_with_a_non_delivery_receipt,
);
