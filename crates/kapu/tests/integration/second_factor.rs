//! Two-factor login over HTTP: TOTP enrolment with codes from an independent generator
//! (Debian's `oathtool`), the second step, replay and wrong-step refusals, recovery codes,
//! separate lockout of the second step, the tenants' policy and enrol-only sessions.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code, set_global, skip};

pub const PW: &str = "Masodik-Lepes1";

/// One skip line for every test that wants `oathtool`.
pub static OATHTOOL_MISSING: std::sync::Once = std::sync::Once::new();

/// The TOTP code of `secret` (base32) at the server's present second, from `oathtool`; where
/// it is missing, one skip line and Kapu's own generator (so the flow still runs).
pub fn totp(app: &App, secret: &str, offset_secs: i64) -> String {
    let at = app.kapu.now() / 1000 + offset_secs;
    match std::process::Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{at}")])
        .output()
    {
        Ok(out) if out.status.success() => {
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }
        _ => {
            skip(
                &OATHTOOL_MISSING,
                "the TOTP codes of an independent generator",
                "install Debian's oathtool (apt-get install oathtool)",
            );
            let raw = base32_decode(secret);
            kapu_core::signon::totp::code_at(&raw, u64::try_from(at).unwrap()).unwrap()
        }
    }
}

pub fn base32_decode(s: &str) -> Vec<u8> {
    kapu_core::signon::totp::secret_from_base32(s).unwrap()
}

/// A fresh user of the central tenant with a confirmed TOTP; returns the login, the secret
/// and the recovery codes. The clock then moves to the next step, so the enrolment's own
/// code is spent.
pub async fn enrolled_user(app: &App, login: &str) -> (String, String, Vec<String>) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", login, PW).await;
    let full = format!("{login}@kozpont");
    let (secret, codes) = enrol_totp(app, &full, PW).await;
    app.clock.advance(30_000);
    (full, secret, codes)
}

/// Binds an authenticator app to `login` through the API (the first code confirmed);
/// returns its key and the recovery codes.
pub async fn enrol_totp(app: &App, login: &str, password: &str) -> (String, Vec<String>) {
    let token = app.login(login, password, "normal").await;
    let (secret, c) = enrol_totp_in(app, &token, password).await;
    let codes = c["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

/// Binds an authenticator app in the session `token`; its key and the confirmation.
pub async fn enrol_totp_in(app: &App, token: &str, password: &str) -> (String, Value) {
    let (s, e) = app
        .send(
            "POST",
            token,
            "/api/v1/me/factors/totp",
            json!({"password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    let id = e["id"].as_str().unwrap();
    let (s, c) = app
        .send(
            "POST",
            token,
            &format!("/api/v1/me/factors/totp/{id}/confirm"),
            json!({"code": totp(app, &secret, 0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    (secret, c)
}

pub(crate) async fn challenge(app: &App, login: &str, mode: &str) -> String {
    let r = app.login_raw(login, PW, mode).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "second_factor_required", "{body}");
    body["challenge"].as_str().unwrap().to_string()
}

pub(crate) async fn answer(
    app: &App,
    challenge: &str,
    method: &str,
    code: &str,
) -> (StatusCode, Value) {
    app.send(
        "POST",
        "",
        "/api/v1/session/second-factor",
        json!({"challenge": challenge, "method": method, "code": code}),
    )
    .await
}

async fn enrolment_shows_an_address_and_checks_the_first_code(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "kata", PW).await;
    let token = app.login("kata@kozpont", PW, "normal").await;
    let (s, mine) = app.get(&token, "/api/v1/me/factors").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine["factors"], json!([]));
    // A wrong password starts nothing.
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/me/factors/totp",
            json!({"password": "rossz"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/me/factors/totp",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = e["secret"].as_str().unwrap();
    let uri = e["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Kapu:kata%40kozpont?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")));
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let id = e["id"].as_str().unwrap();
    // Not a factor until confirmed: the next login has no second step.
    assert_eq!(
        app.login_raw("kata@kozpont", PW, "normal").await.status(),
        StatusCode::CREATED
    );
    let confirm = format!("/api/v1/me/factors/totp/{id}/confirm");
    let wrong = totp(&app, secret, -300);
    let (s, e) = app
        .send("POST", &token, &confirm, json!({"code": wrong}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, c) = app
        .send(
            "POST",
            &token,
            &confirm,
            json!({"code": totp(&app, secret, 0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["recovery_codes"].as_array().unwrap().len(), 10);
    let (_, mine) = app.get(&token, "/api/v1/me/factors").await;
    assert_eq!(mine["factors"][0]["kind"], "totp");
    assert_eq!(mine["recovery_codes_left"], 10);
    // A second app is refused while one is enrolled.
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/me/factors/totp",
            json!({"password": PW}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"));
}

async fn a_login_with_a_factor_takes_a_code_once_and_of_the_right_step(app: App) {
    let (login, secret, _) = enrolled_user(&app, "tamas").await;
    let c = challenge(&app, &login, "normal").await;
    // A code of a step long gone, and junk, are wrong; the challenge goes on.
    let (s, e) = answer(&app, &c, "totp", &totp(&app, &secret, -120)).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    let (s, e) = answer(&app, &c, "totp", "12345x").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    let now_code = totp(&app, &secret, 0);
    let (s, ok) = answer(&app, &c, "totp", &now_code).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["amr"], json!(["pwd", "otp", "mfa"]));
    let token = ok["token"].as_str().unwrap();
    let (_, me) = app.get(token, "/api/v1/me").await;
    assert_eq!(me["amr"], json!(["pwd", "otp", "mfa"]));
    // The challenge was used up.
    let (s, e) = answer(&app, &c, "totp", &now_code).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
    // The same code on a new challenge, in the same step: a replay, refused.
    let c2 = challenge(&app, &login, "secure").await;
    let (s, e) = answer(&app, &c2, "totp", &now_code).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    // The next step's code is fine.
    app.clock.advance(30_000);
    let (s, ok) = answer(&app, &c2, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["mode"], "secure");
    // A challenge lives five minutes.
    let c3 = challenge(&app, &login, "normal").await;
    app.minutes(6);
    let (s, e) = answer(&app, &c3, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
    // A made-up challenge and an unknown method.
    let (s, e) = answer(&app, "nincs-ilyen", "totp", "123456").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
    let c4 = challenge(&app, &login, "normal").await;
    let (s, e) = answer(&app, &c4, "sms", "123456").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

async fn a_recovery_code_works_once(app: App) {
    let (login, _, codes) = enrolled_user(&app, "rozi").await;
    let c = challenge(&app, &login, "normal").await;
    // Typed in lower case with spaces: still the same code.
    let typed = codes[0].to_lowercase().replace('-', " ");
    let (s, ok) = answer(&app, &c, "recovery_code", &typed).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    let c = challenge(&app, &login, "normal").await;
    let (s, e) = answer(&app, &c, "recovery_code", &codes[0]).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    // A wrong recovery code is told as one, not as an authenticator app's code.
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("visszaállító kód") && !message.contains("hitelesítő alkalmazás"),
        "{message}"
    );
    let (_, mine) = app
        .get(ok["token"].as_str().unwrap(), "/api/v1/me/factors")
        .await;
    assert_eq!(mine["recovery_codes_left"], 9);
    // New codes replace the old ones.
    let token = ok["token"].as_str().unwrap();
    let (s, fresh) = app
        .send(
            "POST",
            token,
            "/api/v1/me/factors/recovery-codes",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    let (s, e) = answer(&app, &c, "recovery_code", &codes[1]).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    let (s, _) = answer(
        &app,
        &c,
        "recovery_code",
        fresh["codes"][0].as_str().unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn wrong_codes_lock_the_second_step_not_the_password(app: App) {
    let (login, secret, _) = enrolled_user(&app, "geza").await;
    let c = challenge(&app, &login, "normal").await;
    for _ in 0..4 {
        let (s, e) = answer(&app, &c, "totp", "000000").await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::UNAUTHORIZED, "second_factor_invalid")
        );
    }
    let r = app
        .http
        .post(app.url("/api/v1/session/second-factor"))
        .json(&json!({"challenge": c, "method": "totp", "code": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::LOCKED);
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(code(&e), "second_factor_locked");
    // The challenge is over, whatever comes.
    let (s, e) = answer(&app, &c, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
    // The password still opens the first step (the account is not locked for others) ...
    let c2 = challenge(&app, &login, "normal").await;
    // ... but the second step waits out its lock, even with the right code.
    let (s, e) = answer(&app, &c2, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "second_factor_locked"));
    app.minutes(11);
    let c3 = challenge(&app, &login, "normal").await;
    let (s, ok) = answer(&app, &c3, "totp", &totp(&app, &secret, 0)).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    // Every wrong code is in the business log.
    let admin = app.admin().await;
    let (_, log) = app
        .get(
            &admin,
            "/api/v1/audit?action=login&outcome=second_factor_wrong_locked",
        )
        .await;
    assert_eq!(log["total"], 1, "{log}");
}

async fn the_policy_makes_users_without_a_factor_enrol_first(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "nora", PW).await;
    // The installation default: secure mode needs a factor.
    set_global(&app.kapu, "second_factor_secure_mode", "true").await;
    let r = app.login_raw("nora@kozpont", PW, "secure").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["second_factor_enrolment_required"], true);
    let token = body["token"].as_str().unwrap();
    // Nothing but enrolment is open to this session.
    let (s, e) = app.get(token, "/api/v1/me/roles").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "second_factor_enrolment_required")
    );
    let (s, me) = app.get(token, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["second_factor_enrolment_required"], true);
    let (s, e) = app
        .send(
            "POST",
            token,
            "/api/v1/me/factors/totp",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = e["secret"].as_str().unwrap();
    let (s, _) = app
        .send(
            "POST",
            token,
            &format!(
                "/api/v1/me/factors/totp/{}/confirm",
                e["id"].as_str().unwrap()
            ),
            json!({"code": totp(&app, secret, 0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The code proved the factor: the same session is a full one now.
    let (s, _) = app.get(token, "/api/v1/me/roles").await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = app.get(token, "/api/v1/me").await;
    assert_eq!(me["amr"], json!(["pwd", "otp", "mfa"]));
    // Normal mode does not need one by default.
    app.user(&admin, "kozpont", "olga", PW).await;
    let r = app.login_raw("olga@kozpont", PW, "normal").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["second_factor_enrolment_required"], false);
    // Where users may not enrol themselves, such a login is refused outright.
    set_global(&app.kapu, "second_factor_self_enrolment", "false").await;
    let r = app.login_raw("olga@kozpont", PW, "secure").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let e: Value = r.json().await.unwrap();
    assert_eq!(code(&e), "second_factor_enrolment_required");
    let (_, log) = app
        .get(
            &admin,
            "/api/v1/audit?action=login&outcome=second_factor_missing",
        )
        .await;
    assert_eq!(log["total"], 1, "{log}");
    // Users of given roles: olga holds none of them, the admin does.
    set_global(&app.kapu, "second_factor_secure_mode", "false").await;
    set_global(&app.kapu, "second_factor_self_enrolment", "true").await;
    set_global(&app.kapu, "second_factor_roles", "kapu.user_maintainer").await;
    let r = app.login_raw("olga@kozpont", PW, "normal").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["second_factor_enrolment_required"], false);
    let r = app
        .login_raw(crate::harness::ADMIN, crate::harness::ADMIN_PW, "normal")
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["second_factor_enrolment_required"], true);
}

async fn a_factor_is_removed_only_from_a_session_that_proved_one(app: App) {
    let (login, secret, _) = enrolled_user(&app, "pali").await;
    let c = challenge(&app, &login, "normal").await;
    let (_, ok) = answer(&app, &c, "totp", &totp(&app, &secret, 0)).await;
    let token = ok["token"].as_str().unwrap();
    let (_, mine) = app.get(token, "/api/v1/me/factors").await;
    let id = mine["factors"][0]["id"].as_str().unwrap().to_string();
    // Another user's factor id is not found from here.
    let (s, _) = app
        .send(
            "DELETE",
            token,
            "/api/v1/me/factors/nincs-ilyen",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .send(
            "DELETE",
            token,
            &format!("/api/v1/me/factors/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Gone with it: the second step and the recovery codes.
    let r = app.login_raw(&login, PW, "normal").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let fresh = body["token"].as_str().unwrap();
    let (_, mine) = app.get(fresh, "/api/v1/me/factors").await;
    assert_eq!(mine["recovery_codes_left"], 0);
    // A session opened with the password alone cannot remove a factor it did not prove.
    let (s, e) = app
        .send(
            "POST",
            fresh,
            "/api/v1/me/factors/totp",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .send(
            "POST",
            fresh,
            &format!(
                "/api/v1/me/factors/totp/{}/confirm",
                e["id"].as_str().unwrap()
            ),
            json!({"code": totp(&app, e["secret"].as_str().unwrap(), 0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, mine) = app.get(fresh, "/api/v1/me/factors").await;
    let id = mine["factors"][0]["id"].as_str().unwrap().to_string();
    let (s, e) = app
        .send(
            "DELETE",
            fresh,
            &format!("/api/v1/me/factors/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
}

both!(
    enrolment_shows_an_address_and_checks_the_first_code,
    a_login_with_a_factor_takes_a_code_once_and_of_the_right_step,
    a_recovery_code_works_once,
    wrong_codes_lock_the_second_step_not_the_password,
    the_policy_makes_users_without_a_factor_enrol_first,
    a_factor_is_removed_only_from_a_session_that_proved_one,
);
