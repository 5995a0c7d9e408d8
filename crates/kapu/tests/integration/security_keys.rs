//! Security keys and passkeys over HTTP, answered by a software authenticator: binding by
//! the user and by a maintainer in secure mode, one device to one user of a tenant, the
//! key in the second step, and refusals of answers made for another challenge.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authenticator::SoftKey;
use crate::both;
use crate::harness::{App, code};
use crate::second_factor::PW;

fn origin(app: &App) -> String {
    app.kapu.config().public_url.clone()
}

/// A fresh user of the central tenant with a session in normal mode.
async fn user(app: &App, admin: &str, login: &str) -> (String, String) {
    app.user(admin, "kozpont", login, PW).await;
    let full = format!("{login}@kozpont");
    let token = app.login(&full, PW, "normal").await;
    (full, token)
}

async fn begin_own(app: &App, token: &str, name: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        token,
        "/api/v1/me/factors/webauthn",
        json!({"password": PW, "name": name}),
    )
    .await
}

/// Binds `key` as the session user's own; returns the finishing answer.
async fn bind_own(app: &App, token: &str, key: &mut SoftKey) -> (StatusCode, Value) {
    let (s, e) = begin_own(app, token, "YubiKey").await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["id"].as_str().unwrap();
    let credential = key.register(&e["options"]);
    app.send(
        "POST",
        token,
        &format!("/api/v1/me/factors/webauthn/{id}/finish"),
        json!({"credential": credential}),
    )
    .await
}

/// A password step that must lead to a second one; returns the whole answer.
async fn password_step(app: &App, login: &str, mode: &str) -> Value {
    let r = app.login_raw(login, PW, mode).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "second_factor_required", "{body}");
    body
}

async fn answer(app: &App, challenge: &Value, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["challenge"] = challenge["challenge"].clone();
    app.send("POST", "", "/api/v1/session/second-factor", body)
        .await
}

async fn a_users_own_key_answers_the_second_step(app: App) {
    let admin = app.admin().await;
    let (login, token) = user(&app, &admin, "kulcs.kati").await;
    let mut key = SoftKey::new("kati", &origin(&app));
    // A wrong password, and a nameless device, start nothing.
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/me/factors/webauthn",
            json!({"password": "rossz", "name": "YubiKey"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = begin_own(&app, &token, "  ").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "name");
    // An answer made for another registration's challenge is refused.
    let (_, first) = begin_own(&app, &token, "YubiKey").await;
    let (_, second) = begin_own(&app, &token, "YubiKey").await;
    let crossed = key.register(&first["options"]);
    let (s, e) = app
        .send(
            "POST",
            &token,
            &format!(
                "/api/v1/me/factors/webauthn/{}/finish",
                second["id"].as_str().unwrap()
            ),
            json!({"credential": crossed}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"][0]["code"], "factor.webauthn_invalid");
    // A registration answered too late is gone.
    app.minutes(6);
    let (s, e) = app
        .send(
            "POST",
            &token,
            &format!(
                "/api/v1/me/factors/webauthn/{}/finish",
                first["id"].as_str().unwrap()
            ),
            json!({"credential": crossed}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, "gone"), "{e}");

    let (s, c) = bind_own(&app, &token, &mut key).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["factor"]["kind"], "webauthn");
    assert_eq!(c["factor"]["name"], "YubiKey");
    assert_eq!(c["factor"]["bound_by"], login.as_str());
    assert_eq!(c["recovery_codes"].as_array().unwrap().len(), 10);

    let step = password_step(&app, &login, "secure").await;
    assert_eq!(step["factors"], json!(["webauthn", "recovery_code"]));
    assert_eq!(
        step["webauthn"]["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Junk, a missing answer, and an answer for another login's challenge are refused.
    let (s, e) = answer(
        &app,
        &step,
        json!({"method": "webauthn", "credential": {"id": "x"}}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    let (s, e) = answer(&app, &step, json!({"method": "webauthn"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let other = password_step(&app, &login, "secure").await;
    let for_other = key.assert(&other["webauthn"]);
    let (s, e) = answer(
        &app,
        &step,
        json!({"method": "webauthn", "credential": for_other}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid"),
        "{e}"
    );
    let (s, ok) = answer(
        &app,
        &step,
        json!({"method": "webauthn", "credential": key.assert(&step["webauthn"])}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["amr"], json!(["pwd", "hwk", "mfa"]));
    assert_eq!(ok["mode"], "secure");
    let (_, mine) = app
        .get(ok["token"].as_str().unwrap(), "/api/v1/me/factors")
        .await;
    assert!(mine["factors"][0]["last_used_at"].is_string(), "{mine}");
    // The same answer again finds its challenge spent.
    let replay = key.assert(&step["webauthn"]);
    let (s, e) = answer(
        &app,
        &step,
        json!({"method": "webauthn", "credential": replay}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
    // A challenge answered after its 5 minutes is over.
    let late = password_step(&app, &login, "normal").await;
    app.minutes(6);
    let (s, e) = answer(
        &app,
        &late,
        json!({"method": "webauthn", "credential": key.assert(&late["webauthn"])}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "challenge_invalid")
    );
}

async fn a_device_serves_one_user_of_a_tenant(app: App) {
    let admin = app.admin().await;
    let (_, first) = user(&app, &admin, "elso.elek").await;
    let (_, second) = user(&app, &admin, "masodik.mari").await;
    let mut key = SoftKey::new("shared", &origin(&app));
    let (s, c) = bind_own(&app, &first, &mut key).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, e) = bind_own(&app, &second, &mut key).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "device_bound"), "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("Teszt elso.elek"), "{message}");
    // Binding it again to its own user is refused too (the registration excluded it, as
    // a browser would), without a second row.
    let (s, e) = bind_own(&app, &first, &mut key).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (_, mine) = app.get(&first, "/api/v1/me/factors").await;
    assert_eq!(mine["factors"].as_array().unwrap().len(), 1);
    // Another tenant's user may bind the same device.
    let tenant_admin = app.tenant_with_admin("kulcsfalva").await;
    app.user(&tenant_admin, "kulcsfalva", "harmadik", PW).await;
    let third = app.login("harmadik@kulcsfalva", PW, "normal").await;
    let (s, c) = bind_own(&app, &third, &mut key).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
}

async fn a_maintainer_binds_and_removes_a_key_in_secure_mode(app: App) {
    let admin = app.admin().await;
    let (login, token) = user(&app, &admin, "ugyfel.ubul").await;
    let base = "/api/v1/tenants/kozpont/users/ugyfel.ubul/factors";
    // Normal mode is not enough; a plain user is no maintainer.
    let normal = app
        .login(crate::harness::ADMIN, crate::harness::ADMIN_PW, "normal")
        .await;
    let (s, e) = app
        .send(
            "POST",
            &normal,
            &format!("{base}/webauthn"),
            json!({"name": "Kártya"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
    let (s, _) = app
        .send(
            "POST",
            &token,
            "/api/v1/tenants/kozpont/users/admin/factors/webauthn",
            json!({"name": "Kártya"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, e) = app
        .send(
            "POST",
            &admin,
            &format!("{base}/webauthn"),
            json!({"name": "Kártya"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["options"]["publicKey"]["user"]["name"], login.as_str());
    let mut key = SoftKey::new("ubul", &origin(&app));
    let (s, c) = app
        .send(
            "POST",
            &admin,
            &format!("{base}/webauthn/{}/finish", e["id"].as_str().unwrap()),
            json!({"credential": key.register(&e["options"])}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    // Recovery codes are the user's own to see: a maintainer's binding issues none.
    assert!(c["recovery_codes"].is_null(), "{c}");
    let (s, list) = app.get(&admin, base).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["factors"][0]["bound_by"], "admin@kozpont");
    assert_eq!(list["factors"][0]["name"], "Kártya");
    // The user logs in with it.
    let step = password_step(&app, &login, "normal").await;
    assert_eq!(step["factors"], json!(["webauthn"]));
    let (s, ok) = answer(
        &app,
        &step,
        json!({"method": "webauthn", "credential": key.assert(&step["webauthn"])}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    // The maintainer removes the binding: the password alone opens the account again.
    let id = list["factors"][0]["id"].as_str().unwrap();
    let (s, _) = app
        .send("DELETE", &admin, &format!("{base}/{id}"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .send("DELETE", &admin, &format!("{base}/{id}"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        app.login_raw(&login, PW, "normal").await.status(),
        StatusCode::CREATED
    );
    let (_, log) = app
        .get(&admin, "/api/v1/audit?per_page=100&action=factor.remove")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    // Another tenant's maintainer finds no such user.
    let foreign = app.tenant_with_admin("idegen").await;
    let (s, _) = app.get(&foreign, base).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The key form's refusal shows beside the key form's own fields, not the app form's.
async fn the_key_forms_errors_stand_by_its_own_fields(app: App) {
    let admin = app.admin().await;
    user(&app, &admin, "kulcs.kati").await;
    let b = crate::forms::browser();
    crate::forms::log_in(&b, &app, "kulcs.kati@kozpont", PW, "normal").await;
    let (_, html) = crate::forms::page(&b, &app, "/profile/factors").await;
    let (s, _, html) = crate::forms::post(
        &b,
        &app,
        "/profile/factors/webauthn",
        &[
            ("csrf", &crate::forms::csrf_of(&html)),
            ("name", "Kulcs"),
            ("password", "nem-ez-a-jelszo"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"key-password-error\"")
            && html.contains("href=\"#key-password\"")
            && !html.contains("id=\"password-error\""),
        "{html}"
    );
}

both!(
    the_key_forms_errors_stand_by_its_own_fields,
    a_users_own_key_answers_the_second_step,
    a_device_serves_one_user_of_a_tenant,
    a_maintainer_binds_and_removes_a_key_in_secure_mode,
);
