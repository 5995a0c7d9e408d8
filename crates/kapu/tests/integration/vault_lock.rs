//! The vault's own lock over HTTP: nothing before an unlock, the idle timeout (with the
//! injectable clock), the PIN with its lockout, and the e-mail check on a new browser.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};
use crate::vault::PW;

async fn staff(app: &App) -> String {
    let tenant_admin = app.tenant_with_admin("iroda").await;
    app.user(&tenant_admin, "iroda", "munkatars", PW).await;
    app.login("munkatars@iroda", PW, "secure").await
}

async fn unlock(app: &App, token: &str, body: Value) -> (StatusCode, Value) {
    app.send("POST", token, "/api/v1/vault/unlock", body).await
}

async fn entries_status(app: &App, token: &str) -> (StatusCode, String) {
    let (s, b) = app.get(token, "/api/v1/vault/entries").await;
    (
        s,
        if s.is_success() {
            String::new()
        } else {
            code(&b).to_string()
        },
    )
}

async fn the_vault_opens_per_session_and_locks_when_idle(app: App) {
    let token = staff(&app).await;
    let (s, state) = app.get(&token, "/api/v1/vault").await;
    assert_eq!(
        (s, state["unlocked"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(state["idle_timeout_seconds"], 300);
    let locked = (StatusCode::FORBIDDEN, "vault_locked".to_string());
    assert_eq!(entries_status(&app, &token).await, locked);
    for bad in [
        json!({"password": "Rossz-Jelszo1"}),
        json!({}),
        json!({"password": PW, "pin": "482915"}),
    ] {
        let (s, e) = unlock(&app, &token, bad.clone()).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}"
        );
    }
    assert_eq!(entries_status(&app, &token).await, locked);
    let (s, state) = unlock(&app, &token, json!({"password": PW})).await;
    assert_eq!(
        (s, state["unlocked"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
    assert_eq!(entries_status(&app, &token).await.0, StatusCode::OK);
    // Use keeps it open; five idle minutes close it.
    app.minutes(4);
    assert_eq!(entries_status(&app, &token).await.0, StatusCode::OK);
    app.minutes(4);
    assert_eq!(entries_status(&app, &token).await.0, StatusCode::OK);
    app.minutes(6);
    assert_eq!(entries_status(&app, &token).await, locked);
    let (_, state) = app.get(&token, "/api/v1/vault").await;
    assert_eq!(state["unlocked"], false);
    // Another session of the same user has its own lock.
    unlock(&app, &token, json!({"password": PW})).await;
    let other = app.login("munkatars@iroda", PW, "secure").await;
    assert_eq!(entries_status(&app, &other).await, locked);
    // Locking by hand closes it at once.
    let (s, _) = app
        .send("POST", &token, "/api/v1/vault/lock", Value::Null)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(entries_status(&app, &token).await, locked);
    // The tenant may shorten the idle time.
    let tenant_admin = app.login("fo.admin@iroda", "Tenant-Admin1", "secure").await;
    let (s, b) = app
        .send(
            "PUT",
            &tenant_admin,
            "/api/v1/tenants/iroda/settings/vault_idle_timeout",
            json!({"value": "2m"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.kapu.settings().invalidate();
    unlock(&app, &token, json!({"password": PW})).await;
    app.minutes(3);
    assert_eq!(entries_status(&app, &token).await, locked);
}

async fn a_pin_opens_the_vault_until_five_wrong_tries(app: App) {
    let token = staff(&app).await;
    let (s, e) = unlock(&app, &token, json!({"pin": "482915"})).await;
    assert_eq!(
        (s, e["error"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("vault.pin_not_set"))
    );
    for (bad, key) in [
        (
            json!({"password": "Rossz-Jelszo1", "pin": "482915"}),
            "password.current_wrong",
        ),
        (
            json!({"password": PW, "pin": "123456"}),
            "vault.pin_trivial",
        ),
        (json!({"password": PW, "pin": "4829"}), "vault.pin_format"),
    ] {
        let (s, e) = app
            .send("PUT", &token, "/api/v1/vault/pin", bad.clone())
            .await;
        assert_eq!(
            (s, e["error"]["fields"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(key)),
            "{bad}: {e}"
        );
    }
    let (s, state) = app
        .send(
            "PUT",
            &token,
            "/api/v1/vault/pin",
            json!({"password": PW, "pin": "482915"}),
        )
        .await;
    assert_eq!(
        (s, state["pin_set"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
    let (s, state) = unlock(&app, &token, json!({"pin": "482915"})).await;
    assert_eq!(
        (s, state["unlocked"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
    app.send("POST", &token, "/api/v1/vault/lock", Value::Null)
        .await;
    for _ in 0..4 {
        let (s, e) = unlock(&app, &token, json!({"pin": "111222"})).await;
        assert_eq!(
            (s, e["error"]["fields"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("vault.pin_wrong"))
        );
    }
    let (s, e) = unlock(&app, &token, json!({"pin": "111222"})).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "vault_pin_locked"));
    // Now even the right PIN is refused, in every session of the user.
    let other = app.login("munkatars@iroda", PW, "secure").await;
    let (s, e) = unlock(&app, &other, json!({"pin": "482915"})).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "vault_pin_locked"));
    let (_, state) = app.get(&token, "/api/v1/vault").await;
    assert_eq!(
        (state["pin_locked"].as_bool(), state["unlocked"].as_bool()),
        (Some(true), Some(false))
    );
    // The password lifts it.
    let (s, state) = unlock(&app, &token, json!({"password": PW})).await;
    assert_eq!(
        (s, state["pin_locked"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let (s, _) = unlock(&app, &other, json!({"pin": "482915"})).await;
    assert_eq!(s, StatusCode::OK);
    // The business log has the failures.
    let (_, log) = app
        .get(
            &app.admin().await,
            "/api/v1/audit?action=vault.unlock&outcome=failure&per_page=100",
        )
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 5, "{log}");
}

async fn a_new_browser_also_gives_a_code_sent_by_e_mail(app: App) {
    let token = staff(&app).await;
    let tenant_admin = app.login("fo.admin@iroda", "Tenant-Admin1", "secure").await;
    let (s, b) = app
        .send(
            "PUT",
            &tenant_admin,
            "/api/v1/tenants/iroda/settings/vault_email_verification",
            json!({"value": "true"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.kapu.settings().invalidate();
    let (s, state) = unlock(&app, &token, json!({"password": PW})).await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(
        (
            state["unlocked"].as_bool(),
            state["email_code_pending"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(entries_status(&app, &token).await.1, "vault_locked");
    let mail = app.mail_to("munkatars@iroda.example", 2).await;
    let sent: String = mail
        .lines()
        .find_map(|l| l.split("kódot: ").nth(1))
        .expect("a code in the mail")
        .chars()
        .take(6)
        .collect();
    let wrong = if sent == "000000" { "111111" } else { "000000" };
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/vault/unlock/email",
            json!({"code": wrong}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vault.email_code_wrong")
        )
    );
    let (s, state) = app
        .send(
            "POST",
            &token,
            "/api/v1/vault/unlock/email",
            json!({"code": sent}),
        )
        .await;
    assert_eq!(
        (s, state["unlocked"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
    let browser = state["browser_token"].as_str().unwrap().to_string();
    assert_eq!(entries_status(&app, &token).await.0, StatusCode::OK);
    // The same browser is remembered; another is asked again.
    let again = app.login("munkatars@iroda", PW, "secure").await;
    let (_, state) = unlock(
        &app,
        &again,
        json!({"password": PW, "browser_token": browser}),
    )
    .await;
    assert_eq!(state["unlocked"], true, "{state}");
    let elsewhere = app.login("munkatars@iroda", PW, "secure").await;
    let (_, state) = unlock(
        &app,
        &elsewhere,
        json!({"password": PW, "browser_token": "nem-ismert"}),
    )
    .await;
    assert_eq!(state["email_code_pending"], true, "{state}");
    // A code is good for ten minutes.
    let late = app.mail_to("munkatars@iroda.example", 3).await;
    let code3: String = late
        .lines()
        .find_map(|l| l.split("kódot: ").nth(1))
        .unwrap()
        .chars()
        .take(6)
        .collect();
    app.minutes(11);
    let (s, e) = app
        .send(
            "POST",
            &elsewhere,
            "/api/v1/vault/unlock/email",
            json!({"code": code3}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "vault_locked"));
    // A remembered browser is forgotten after the tenant's number of days.
    app.days(31);
    let later = app.login("munkatars@iroda", PW, "secure").await;
    let (_, state) = unlock(
        &app,
        &later,
        json!({"password": PW, "browser_token": browser}),
    )
    .await;
    assert_eq!(state["email_code_pending"], true, "{state}");
}

async fn guessing_the_password_at_the_vault_is_throttled(app: App) {
    let token = staff(&app).await;
    // The password asked again counts like a login's: the fifth wrong one locks the account.
    for _ in 0..4 {
        let (s, _) = unlock(&app, &token, json!({"password": "Talalgatas-1"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, e) = unlock(&app, &token, json!({"password": "Talalgatas-1"})).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "account_locked"));
    // Past the unlock limit of the window (PINs count too), even the right password waits.
    for _ in 0..5 {
        unlock(&app, &token, json!({"password": "Talalgatas-1"})).await;
    }
    let r = app
        .http
        .post(app.url("/api/v1/vault/unlock"))
        .bearer_auth(&token)
        .json(&json!({"password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    app.minutes(16);
    let token = app.login("munkatars@iroda", PW, "secure").await;
    let (s, state) = unlock(&app, &token, json!({"password": PW})).await;
    assert_eq!(
        (s, state["unlocked"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
}

both!(
    guessing_the_password_at_the_vault_is_throttled,
    the_vault_opens_per_session_and_locks_when_idle,
    a_pin_opens_the_vault_until_five_wrong_tries,
    a_new_browser_also_gives_a_code_sent_by_e_mail,
);

/// Keys, writes, delegations and imports need a secure-mode login, as an export does; the
/// code stays available in normal mode.
async fn keys_and_changes_need_secure_mode_and_codes_do_not(app: App) {
    let o = crate::vault::office(&app, "iroda").await;
    let e = crate::vault::entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "issuer": "NAV", "secret": crate::vault::SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    let normal = app.login("fokonyvelo@iroda", PW, "normal").await;
    let (s, b) = unlock(&app, &normal, json!({"password": PW})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .send(
            "POST",
            &normal,
            &format!("/api/v1/vault/entries/{id}/code"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for (method, path, body) in [
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/secret"),
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/vault/entries".to_string(),
            json!({"client_name": "Új", "issuer": "NAV", "secret": crate::vault::SECRET}),
        ),
        (
            "POST",
            "/api/v1/vault/folders".to_string(),
            json!({"name": "Új mappa"}),
        ),
        (
            "POST",
            format!("/api/v1/vault/entries/{id}/grants"),
            json!({"user": "munkatars@iroda", "level": "code"}),
        ),
        ("DELETE", format!("/api/v1/vault/entries/{id}"), Value::Null),
    ] {
        let (s, b) = app.send(method, &normal, &path, body).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::FORBIDDEN, "secure_mode_required"),
            "{method} {path}: {b}"
        );
    }
}

both!(keys_and_changes_need_secure_mode_and_codes_do_not);
