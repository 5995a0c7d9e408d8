//! Who may do what with a vault entry over HTTP: a code-only user who walks every endpoint
//! and finds no secret, view and manage levels through entry, folder and group grants, the
//! end of a delegation, re-enrolment with its key history, the entry's own log and the
//! "who saw what" report.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};
use crate::vault::{PW, RECOVERY, SECRET, delegate, entry, office, reveal};

/// Every answer a code-only user can get from the vault API; none may hold the secret.
async fn everything_a_code_user_sees(
    app: &App,
    token: &str,
    id: &str,
    folder: &str,
) -> Vec<(String, StatusCode, String)> {
    let mut seen = Vec::new();
    let calls: Vec<(&str, String, Value)> = vec![
        ("GET", "/api/v1/vault".into(), Value::Null),
        ("GET", "/api/v1/vault/entries".into(), Value::Null),
        ("GET", "/api/v1/vault/entries?q=kiss".into(), Value::Null),
        (
            "GET",
            format!("/api/v1/vault/entries?folder={folder}"),
            Value::Null,
        ),
        ("GET", format!("/api/v1/vault/entries/{id}"), Value::Null),
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/code"),
            Value::Null,
        ),
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/secret"),
            Value::Null,
        ),
        (
            "GET",
            format!("/api/v1/vault/entries/{id}/log"),
            Value::Null,
        ),
        (
            "GET",
            format!("/api/v1/vault/entries/{id}/grants"),
            Value::Null,
        ),
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/grants"),
            json!({"user": "munkatars@iroda", "level": "manage"}),
        ),
        (
            "PATCH",
            format!("/api/v1/vault/entries/{id}"),
            json!({"notes": "x"}),
        ),
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/rekey"),
            json!({"secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"}),
        ),
        ("DELETE", format!("/api/v1/vault/entries/{id}"), Value::Null),
        ("GET", "/api/v1/vault/folders".into(), Value::Null),
        (
            "GET",
            format!("/api/v1/vault/folders/{folder}/grants"),
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/vault/export".into(),
            json!({"password": PW, "format": "otpauth", "confirm_plain": true}),
        ),
        (
            "POST",
            "/api/v1/vault/export".into(),
            json!({"password": PW, "format": "aegis", "file_password": "hosszu-jelszo-123"}),
        ),
        ("GET", "/api/v1/vault/report".into(), Value::Null),
        ("GET", "/api/v1/vault/report?format=csv".into(), Value::Null),
    ];
    for (method, path, body) in calls {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app.http.request(m, app.url(&path)).bearer_auth(token);
        if !body.is_null() {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        seen.push((format!("{method} {path}"), status, r.text().await.unwrap()));
    }
    seen
}

/// The forms a secret could leak in: base32 (any case, grouped), the recovery code, an
/// address, a QR code.
pub fn leaks(text: &str) -> Option<&'static str> {
    let squeezed: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    if squeezed.contains("JBSWY3DPEHPK3PXP") {
        Some("the secret")
    } else if squeezed.contains("TORLOKOD47110815") {
        Some("the recovery code")
    } else if text.contains("secret=") {
        Some("an otpauth address")
    } else if text.contains("<svg") || text.contains("data:image") {
        Some("a QR code")
    } else {
        None
    }
}

async fn a_code_user_gets_codes_and_never_the_secret(app: App) {
    let o = office(&app, "iroda").await;
    let (s, folder) = app
        .send(
            "POST",
            &o.admin,
            "/api/v1/vault/folders",
            json!({"name": "Kiemelt ügyfelek"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{folder}");
    let folder_id = folder["id"].as_str().unwrap().to_string();
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "issuer": "Ügyfélkapu+", "account": "kiss.anna", "secret": SECRET,
               "recovery_code": RECOVERY, "notes": "titkos megjegyzés", "folder_id": folder_id}),
    )
    .await;
    let id = e["id"].as_str().unwrap().to_string();
    // Before any delegation the entry does not exist for the staff member.
    let (s, _) = reveal(&app, &o.staff, &id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/entries/{id}/grants"),
        json!({"user": "munkatars@iroda", "level": "code"}),
    )
    .await;
    let seen = everything_a_code_user_sees(&app, &o.staff, &id, &folder_id).await;
    for (call, status, body) in &seen {
        assert!(!status.is_server_error(), "{call}: {status}");
        assert_eq!(leaks(body), None, "{call} answered {status}: {body}");
    }
    let status_of = |call: &str| {
        seen.iter()
            .find(|(c, _, _)| c == call)
            .map(|(_, s, _)| *s)
            .unwrap()
    };
    assert_eq!(
        status_of(&format!("POST /api/v1/vault/entries/{id}/code")),
        StatusCode::OK
    );
    assert_eq!(
        status_of(&format!("POST /api/v1/vault/entries/{id}/secret")),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(&format!("PATCH /api/v1/vault/entries/{id}")),
        StatusCode::FORBIDDEN
    );
    let (_, listed) = app.get(&o.staff, "/api/v1/vault/entries").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["level"], "code");
    assert!(listed["items"][0].get("notes").is_none(), "{listed}");
    // Nothing was changed or deleted by the refused calls.
    let (s, still) = app
        .get(&o.admin, &format!("/api/v1/vault/entries/{id}"))
        .await;
    assert_eq!(
        (s, still["notes"].as_str()),
        (StatusCode::OK, Some("titkos megjegyzés"))
    );

    // A view-level holder sees the key, the recovery code, the address and the QR code.
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/folders/{folder_id}/grants"),
        json!({"user": "vezeto@iroda", "level": "view"}),
    )
    .await;
    let (s, secret) = app
        .send(
            "POST",
            &o.lead,
            &format!("/api/v1/vault/entries/{id}/secret"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{secret}");
    assert_eq!(
        (secret["secret"].as_str(), secret["recovery_code"].as_str()),
        (Some(SECRET), Some(RECOVERY))
    );
    assert!(
        secret["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(secret["qr_svg"].as_str().unwrap().contains("<svg"));
    // ... but may not change it.
    let (s, _) = app
        .send(
            "PATCH",
            &o.lead,
            &format!("/api/v1/vault/entries/{id}"),
            json!({"notes": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A group's folder grant reaches its members; the strongest grant wins.
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/folders/{folder_id}/grants"),
        json!({"group": "konyveles", "level": "manage"}),
    )
    .await;
    let (s, b) = app
        .send(
            "PATCH",
            &o.member,
            &format!("/api/v1/vault/entries/{id}"),
            json!({"notes": "csoportból"}),
        )
        .await;
    assert_eq!(
        (s, b["level"].as_str()),
        (StatusCode::OK, Some("manage")),
        "{b}"
    );
    // Ending the delegation ends the access on the next request.
    let (_, grants) = app
        .get(&o.admin, &format!("/api/v1/vault/entries/{id}/grants"))
        .await;
    let grant_id = grants["items"][0]["id"].as_str().unwrap();
    assert_eq!(grants["items"][0]["holder"], "munkatars@iroda");
    let (s, _) = app
        .send(
            "DELETE",
            &o.admin,
            &format!("/api/v1/vault/entries/{id}/grants/{grant_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = reveal(&app, &o.staff, &id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Unknown holders and two holders at once are refused.
    for bad in [
        json!({"user": "nincs@iroda", "level": "code"}),
        json!({"user": "munkatars@iroda", "group": "konyveles", "level": "code"}),
        json!({"group": "nincs", "level": "view"}),
    ] {
        let (s, e) = app
            .send(
                "POST",
                &o.admin,
                &format!("/api/v1/vault/entries/{id}/grants"),
                bad.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
}

async fn re_enrolment_keeps_the_old_key_and_the_log_tells_who_saw_what(app: App) {
    let o = office(&app, "iroda").await;
    let e = entry(&app, &o.admin, json!({"client_name": "Nagy Béla", "issuer": "NAV", "secret": SECRET, "recovery_code": RECOVERY})).await;
    let id = e["id"].as_str().unwrap();
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/entries/{id}/grants"),
        json!({"user": "munkatars@iroda", "level": "code"}),
    )
    .await;
    for _ in 0..3 {
        let (s, _) = reveal(&app, &o.staff, id).await;
        assert_eq!(s, StatusCode::OK);
    }
    app.minutes(1);
    let (s, re) = app
        .send(
            "POST",
            &o.admin,
            &format!("/api/v1/vault/entries/{id}/rekey"),
            json!({"secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", "recovery_code": "UJ-TORLO-KOD"}),
        )
        .await;
    assert_eq!(
        (s, re["earlier_keys"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{re}"
    );
    let (_, secret) = app
        .send(
            "POST",
            &o.admin,
            &format!("/api/v1/vault/entries/{id}/secret"),
            Value::Null,
        )
        .await;
    assert_eq!(secret["secret"], "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU");
    assert_eq!(secret["history"][0]["secret"], SECRET);
    assert_eq!(secret["history"][0]["recovery_code"], RECOVERY);
    // The staff member still gets codes, now of the new key.
    let (s, c) = reveal(&app, &o.staff, id).await;
    assert_eq!(s, StatusCode::OK);
    let new_key = kapu_core::vault::otp::parse_secret("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU").unwrap();
    let expect = kapu_core::vault::otp::codes(&new_key, Default::default(), app.kapu.now());
    assert!(
        c["code"] == expect.code.as_str() || c["next_code"] == expect.code.as_str(),
        "{c}"
    );

    // The entry's own log, for its managers: four reveals by the staff member, and more.
    let (s, log) = app
        .get(
            &o.admin,
            &format!("/api/v1/vault/entries/{id}/log?per_page=100"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let actions: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("vault.code", "munkatars@iroda"))
            .count(),
        4,
        "{actions:?}"
    );
    for action in ["vault.create", "vault.grant", "vault.rekey", "vault.secret"] {
        assert!(
            actions.iter().any(|(a, _)| *a == action),
            "{action}: {actions:?}"
        );
    }
    // Who saw what: per user and period, as JSON and CSV; vault administrators only.
    let (s, report) = app
        .get(&o.admin, "/api/v1/vault/report?user=munkatars@iroda")
        .await;
    assert_eq!(
        (s, report["total"].as_i64()),
        (StatusCode::OK, Some(4)),
        "{report}"
    );
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["entry"] == "Nagy Béla / NAV")
    );
    let (_, empty) = app
        .get(
            &o.admin,
            "/api/v1/vault/report?user=munkatars@iroda&to=2020-01-01",
        )
        .await;
    assert_eq!(empty["total"], 0);
    let csv = app.csv(&o.admin, "/api/v1/vault/report?format=csv").await;
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains("munkatars@iroda"))
            .count(),
        4,
        "{csv}"
    );
    let (s, _) = app.get(&o.staff, "/api/v1/vault/report").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .get(&o.admin, "/api/v1/vault/report?user=nincs@iroda")
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    // Deleting an entry takes its history and delegations; the log keeps the record.
    let (s, _) = app
        .send(
            "DELETE",
            &o.admin,
            &format!("/api/v1/vault/entries/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = reveal(&app, &o.staff, id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A deputy acting for a principal uses the principal's delegations; the log names both.
async fn a_deputy_uses_the_principals_delegations(app: App) {
    let o = office(&app, "iroda").await;
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Kovács Éva", "issuer": "NAV", "secret": SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/entries/{id}/grants"),
        json!({"user": "vezeto@iroda", "level": "code"}),
    )
    .await;
    let tenant_admin = app.login("fo.admin@iroda", "Tenant-Admin1", "secure").await;
    crate::mailbox::grant(
        &app,
        &app.admin().await,
        "iroda",
        "vezeto",
        &["kapu.partner_reader".to_string()],
    )
    .await;
    let (s, b) = app
        .send(
            "POST",
            &tenant_admin,
            "/api/v1/tenants/iroda/substitutions",
            json!({"deputy": "munkatars", "principal": "vezeto", "roles": ["kapu.partner_reader"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // On their own the deputy has no such entry.
    let (s, _) = reveal(&app, &o.staff, id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let acting = app
        .login_acting("munkatars@iroda", PW, "secure", "vezeto")
        .await;
    // The deputy unlocks with their own password, not the principal's.
    let (s, _) = app
        .send(
            "POST",
            &acting,
            "/api/v1/vault/unlock",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, c) = reveal(&app, &acting, id).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (_, report) = app
        .get(&o.admin, "/api/v1/vault/report?user=munkatars@iroda")
        .await;
    assert_eq!(report["total"], 1, "{report}");
    assert_eq!(report["items"][0]["on_behalf_of"], "vezeto@iroda");
    // Once the substitution is gone, so is the access, on the next request.
    let (_, subs) = app
        .get(&tenant_admin, "/api/v1/tenants/iroda/substitutions")
        .await;
    let sub_id = subs["items"][0]["id"].as_str().unwrap();
    let (s, _) = app
        .send(
            "DELETE",
            &tenant_admin,
            &format!("/api/v1/tenants/iroda/substitutions/{sub_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = reveal(&app, &acting, id).await;
    assert!(
        matches!(s, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND),
        "{s}"
    );
}

/// An entry's manager may file it only in folders they manage: filing opens the entry to
/// the folder's delegates.
async fn filing_in_a_folder_needs_the_folders_manager(app: App) {
    let o = office(&app, "iroda").await;
    let (_, folder) = app
        .send(
            "POST",
            &o.admin,
            "/api/v1/vault/folders",
            json!({"name": "Titkos"}),
        )
        .await;
    let folder_id = folder["id"].as_str().unwrap().to_string();
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Szabó Ildikó", "secret": SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/entries/{id}/grants"),
        json!({"user": "vezeto@iroda", "level": "manage"}),
    )
    .await;
    let (s, e) = app
        .send(
            "PATCH",
            &o.lead,
            &format!("/api/v1/vault/entries/{id}"),
            json!({"folder_id": folder_id}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"][0]["code"], "vault.folder_not_managed");
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/folders/{folder_id}/grants"),
        json!({"user": "vezeto@iroda", "level": "manage"}),
    )
    .await;
    let (s, moved) = app
        .send(
            "PATCH",
            &o.lead,
            &format!("/api/v1/vault/entries/{id}"),
            json!({"folder_id": folder_id}),
        )
        .await;
    assert_eq!(
        (s, moved["folder"]["name"].as_str()),
        (StatusCode::OK, Some("Titkos")),
        "{moved}"
    );
    // Reached both through the folder and by name, the entry is listed and counted once.
    let (_, listed) = app.get(&o.lead, "/api/v1/vault/entries").await;
    assert_eq!(
        (
            listed["total"].as_i64(),
            listed["items"].as_array().unwrap().len()
        ),
        (Some(1), 1),
        "{listed}"
    );
}

both!(
    filing_in_a_folder_needs_the_folders_manager,
    a_deputy_uses_the_principals_delegations,
    a_code_user_gets_codes_and_never_the_secret,
    re_enrolment_keeps_the_old_key_and_the_log_tells_who_saw_what,
);
