//! Every counter holds under parallel requests: N wrong attempts sent at once are each
//! counted before they are judged, so no more than the threshold are ever checked, and the
//! business log shows no more wrong answers than the limit allows.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, set_global};
use crate::second_factor::{PW, answer, challenge, enrolled_user, totp};

/// How many of `answers` were judged (a wrong answer told as such), and how many refused
/// without being judged (locked or throttled).
fn judged(answers: &[(StatusCode, Value)], wrong: &str) -> (usize, usize) {
    let judged = answers.iter().filter(|(_, b)| code(b) == wrong).count();
    (judged, answers.len() - judged)
}

async fn parallel_wrong_passwords_lock_after_the_threshold(app: App) {
    let admin = app.admin().await;
    set_global(&app.kapu, "login_throttle_per_minute", "1000").await;
    app.user(&admin, "kozpont", "celpont", PW).await;
    let answers = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let r = app
                .login_raw("celpont@kozpont", &format!("Rossz-Jelszo-{i}"), "normal")
                .await;
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    }))
    .await;
    let (checked, refused) = judged(&answers, "invalid_credentials");
    // Five wrong passwords lock: four are told they are wrong, the fifth meets the lock it
    // makes, and every other one meets the lock or, while five are being judged, is told to
    // try again in a moment without being judged.
    assert_eq!((checked, refused), (4, 36), "{answers:?}");
    assert!(
        answers.iter().all(|(_, b)| matches!(
            code(b),
            "invalid_credentials" | "account_locked" | "too_many_requests"
        )),
        "{answers:?}"
    );
    let r = app.login_raw("celpont@kozpont", PW, "normal").await;
    assert_eq!(
        r.status(),
        StatusCode::LOCKED,
        "the right password waits too"
    );
    let (_, log) = app
        .get(&admin, "/api/v1/audit?action=login&outcome=wrong_password")
        .await;
    assert_eq!(log["total"], 4, "{log}");

    // A name without an account locks alike, at the same count.
    let answers = join_all((0..40).map(|_| {
        let app = &app;
        async move {
            let r = app
                .login_raw("senki@kozpont", "Rossz-Jelszo", "normal")
                .await;
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    }))
    .await;
    assert_eq!(judged(&answers, "invalid_credentials"), (4, 36));
}

async fn parallel_attempts_from_one_address_meet_its_limit(app: App) {
    set_global(&app.kapu, "login_throttle_per_minute", "10").await;
    let answers = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let r = app
                .login_raw(&format!("nincs{i}@kozpont"), "Rossz-Jelszo", "normal")
                .await;
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    }))
    .await;
    let throttled = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::TOO_MANY_REQUESTS && code(b) == "too_many_requests")
        .count();
    assert_eq!(throttled, 30, "ten answered, thirty throttled: {answers:?}");
}

async fn parallel_wrong_codes_lock_the_second_step(app: App) {
    set_global(&app.kapu, "login_throttle_per_minute", "1000").await;
    let (login, secret, _) = enrolled_user(&app, "parhuzamos").await;
    let c = challenge(&app, &login, "normal").await;
    let answers = join_all((0..60).map(|i| {
        let (app, c) = (&app, &c);
        async move { answer(app, c, "totp", &format!("{:06}", 100_000 + i)).await }
    }))
    .await;
    let (checked, refused) = judged(&answers, "second_factor_invalid");
    assert!(
        checked <= 4,
        "at most four wrong codes checked: {answers:?}"
    );
    assert_eq!(checked + refused, 60);
    // The right code waits for the lock to lift.
    let c = challenge(&app, &login, "normal").await;
    let (s, e) = answer(&app, &c, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "second_factor_locked"));
    let admin = app.admin().await;
    let (_, log) = app
        .get(
            &admin,
            "/api/v1/audit?action=login&outcome=second_factor_wrong",
        )
        .await;
    assert!(log["total"].as_i64().unwrap() <= 4, "{log}");
}

/// Right answers sent at once for one account are never a lock: past the threshold they
/// wait a moment, and the account stays open.
async fn parallel_right_passwords_never_lock_an_account(app: App) {
    let admin = app.admin().await;
    set_global(&app.kapu, "login_throttle_per_minute", "1000").await;
    app.user(&admin, "kozpont", "sokszor", PW).await;
    let answers = join_all((0..40).map(|_| {
        let app = &app;
        async move {
            app.login_raw("sokszor@kozpont", PW, "normal")
                .await
                .status()
        }
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );
    assert!(answers.contains(&StatusCode::CREATED));
    let r = app.login_raw("sokszor@kozpont", PW, "normal").await;
    assert_eq!(r.status(), StatusCode::CREATED, "the account stays open");
}

both!(
    parallel_right_passwords_never_lock_an_account,
    parallel_wrong_passwords_lock_after_the_threshold,
    parallel_attempts_from_one_address_meet_its_limit,
    parallel_wrong_codes_lock_the_second_step,
);

/// Thirty POSTs of `body(i)` at once; each answer with its field's code (or the error's)
/// as the code.
async fn at_once(
    app: &App,
    token: &str,
    path: &str,
    body: impl Fn(usize) -> Value,
) -> Vec<(StatusCode, Value)> {
    join_all((0..30).map(|i| {
        let body = body(i);
        async move {
            let (s, b) = app.send("POST", token, path, body).await;
            let key = b["error"]["fields"][0]["code"]
                .as_str()
                .unwrap_or(code(&b))
                .to_string();
            (s, json!({"error": {"code": key}}))
        }
    }))
    .await
}

async fn parallel_wrong_pins_and_password_rechecks_are_counted_first(app: App) {
    set_global(&app.kapu, "login_throttle_per_minute", "1000").await;
    let tenant_admin = app.tenant_with_admin("iroda").await;
    app.user(&tenant_admin, "iroda", "pines", PW).await;
    let token = app.login("pines@iroda", PW, "secure").await;
    let (s, b) = app
        .send(
            "PUT",
            &token,
            "/api/v1/vault/pin",
            json!({"password": PW, "pin": "482915"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let answers = at_once(
        &app,
        &token,
        "/api/v1/vault/unlock",
        |i| json!({"pin": format!("{:06}", 700_000 + i)}),
    )
    .await;
    let (checked, _) = judged(&answers, "vault.pin_wrong");
    assert_eq!(
        checked, 4,
        "four wrong PINs told, the rest locked: {answers:?}"
    );
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/vault/unlock",
            json!({"pin": "482915"}),
        )
        .await;
    // The right PIN is refused: locked, and the window's unlock attempts are spent too.
    assert!(
        matches!(code(&e), "vault_pin_locked" | "too_many_requests"),
        "{s}: {e}"
    );

    // The password asked again (a new factor): as many wrong ones as a login allows.
    let answers = at_once(
        &app,
        &token,
        "/api/v1/me/factors/totp",
        |i| json!({"password": format!("Rossz-{i}")}),
    )
    .await;
    let (checked, _) = judged(&answers, "password.current_wrong");
    assert_eq!(checked, 4, "{answers:?}");
    assert!(
        answers.iter().all(|(_, b)| matches!(
            code(b),
            "password.current_wrong" | "account_locked" | "too_many_requests"
        )),
        "{answers:?}"
    );
}

both!(parallel_wrong_pins_and_password_rechecks_are_counted_first);

/// The e-mailed code of a vault unlock on a new browser: thirty guesses at once, and no more
/// than five are compared before the unlock is given up.
async fn parallel_wrong_vault_email_codes_end_the_unlock(app: App) {
    let tenant_admin = app.tenant_with_admin("iroda").await;
    app.user(&tenant_admin, "iroda", "levelezo", PW).await;
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
    let token = app.login("levelezo@iroda", PW, "secure").await;
    let (s, state) = app
        .send(
            "POST",
            &token,
            "/api/v1/vault/unlock",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(
        (s, state["email_code_pending"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{state}"
    );
    let answers = at_once(
        &app,
        &token,
        "/api/v1/vault/unlock/email",
        |i| json!({"code": format!("{:06}", 900_000 + i)}),
    )
    .await;
    let (checked, _) = judged(&answers, "vault.email_code_wrong");
    assert!(checked <= 5, "at most five codes compared: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(_, b)| matches!(code(b), "vault.email_code_wrong" | "vault_locked")),
        "{answers:?}"
    );
    let (_, state) = app.get(&token, "/api/v1/vault").await;
    assert_eq!(state["unlocked"], false, "{state}");
}

both!(parallel_wrong_vault_email_codes_end_the_unlock);
