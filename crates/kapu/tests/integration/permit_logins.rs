//! What a login on a temporary permit may do and how long it lasts: it binds one
//! replacement device (an authenticator app in place of the lost one) and nothing else, no
//! recovery codes; it ends when the permit ends, whether an administrator revokes it, the
//! user logs in with the device, or its time runs out, and so do the grants services were
//! given in it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::{App, code, set_global};
use crate::permits::{second_step, with_code, with_permit};
use crate::second_factor::{PW, enrol_totp, enrol_totp_in, enrolled_user};
use crate::sso::{authorize, authorize_url, exchange, param, pkce, refresh, setup};

fn permits_of(login: &str) -> String {
    format!("/api/v1/tenants/kozpont/users/{login}/temporary-permits")
}

async fn issue(app: &App, admin: &str, login: &str) -> String {
    let (s, p) = app
        .send(
            "POST",
            admin,
            &permits_of(login),
            json!({"days": 1, "reason": "Elvesztette a telefonját"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p["id"].as_str().unwrap().to_string()
}

/// A session token opened on the permit.
async fn permit_login(app: &App, login: &str) -> String {
    let step = second_step(app, login).await;
    let (s, ok) = with_permit(app, &step).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    ok["token"].as_str().unwrap().to_string()
}

async fn me(app: &App, token: &str) -> StatusCode {
    app.get(token, "/api/v1/me").await.0
}

async fn a_permit_login_binds_one_replacement_device_and_ends_with_the_permit(app: App) {
    let admin = app.admin().await;
    let (login, lost, _) = enrolled_user(&app, "elveszett").await;
    issue(&app, &admin, "elveszett").await;
    let token = permit_login(&app, &login).await;
    // No recovery codes on a permit.
    let (s, e) = app
        .send(
            "POST",
            &token,
            "/api/v1/me/factors/recovery-codes",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "permit_session"),
        "{e}"
    );
    // A new authenticator app takes the lost one's place.
    let (replacement, c) = enrol_totp_in(&app, &token, PW).await;
    assert!(c["recovery_codes"].is_null(), "{c}");
    let (_, mine) = app.get(&token, "/api/v1/me/factors").await;
    let totps: Vec<&Value> = mine["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "totp")
        .collect();
    assert_eq!(totps.len(), 1, "{mine}");
    // Nothing more on this permit: no second device, in this login or the next.
    for t in [token.clone(), permit_login(&app, &login).await] {
        for (path, body) in [
            ("/api/v1/me/factors/totp", json!({"password": PW})),
            (
                "/api/v1/me/factors/webauthn",
                json!({"password": PW, "name": "Kulcs"}),
            ),
        ] {
            let (s, e) = app.send("POST", &t, path, body).await;
            assert_eq!(
                (s, code(&e)),
                (StatusCode::FORBIDDEN, "permit_session"),
                "{path}: {e}"
            );
        }
    }
    let other_permit_login = permit_login(&app, &login).await;
    assert_eq!(me(&app, &other_permit_login).await, StatusCode::OK);
    // The lost app's codes pass no more; the new one's do, and that login ends the permit
    // and every login made on it.
    app.clock.advance(30_000);
    let step = second_step(&app, &login).await;
    let (s, _) = with_code(&app, &step, &lost).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let step = second_step(&app, &login).await;
    let (s, device) = with_code(&app, &step, &replacement).await;
    assert_eq!(s, StatusCode::CREATED, "{device}");
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, &other_permit_login).await,
        StatusCode::UNAUTHORIZED
    );
    let device = device["token"].as_str().unwrap();
    assert_eq!(me(&app, device).await, StatusCode::OK);

    // An administrator's revocation ends the permit's logins at once.
    let id = issue(&app, &admin, "elveszett").await;
    let token = permit_login(&app, &login).await;
    let (s, _) = app
        .send(
            "POST",
            &admin,
            &format!("{}/{id}/revoke", permits_of("elveszett")),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);

    // And its end, though the session's own timeouts would let it go on.
    set_global(&app.kapu, "session_idle_timeout", "24h").await;
    set_global(&app.kapu, "session_absolute_timeout", "7d").await;
    let admin = app.admin().await;
    issue(&app, &admin, "elveszett").await;
    let token = permit_login(&app, &login).await;
    app.minutes(12 * 60);
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    app.minutes(12 * 60 + 1);
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// Logs `login` in through the browser on the permit.
async fn browser_permit_login(app: &App, login: &str) -> reqwest::Client {
    let b = browser();
    let (s, to, _) = log_in(&b, app, login, crate::sso::PW, "normal").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/login/second-factor")
    );
    let (_, html) = page(&b, app, "/login/second-factor").await;
    assert!(html.contains("value=\"temporary_permit\""), "{html}");
    let (s, to, _) = post(
        &b,
        app,
        "/login/second-factor",
        &[("csrf", &csrf_of(&html)), ("method", "temporary_permit")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
    b
}

async fn a_grant_given_on_a_permit_ends_with_the_permit(app: App) {
    let (_, secret) = setup(&app, "production").await;
    enrol_totp(&app, "ugyfel@kozpont", crate::sso::PW).await;
    app.clock.advance(30_000);
    let central = app.admin().await;
    let id = issue(&app, &central, "ugyfel").await;
    let grant = |seed: &'static str| {
        let app = &app;
        let secret = &secret;
        async move {
            let b = browser_permit_login(app, "ugyfel@kozpont").await;
            let (verifier, challenge) = pkce(seed);
            let back = authorize(app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
            let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));
            let (s, t) = exchange(app, secret, &code, &verifier).await;
            assert_eq!(s, StatusCode::OK, "{t}");
            t["refresh_token"].as_str().unwrap().to_string()
        }
    };
    let refresh_token = grant("p1").await;
    let (s, t) = refresh(&app, &secret, &refresh_token).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let refresh_token = t["refresh_token"].as_str().unwrap().to_string();
    let (s, _) = app
        .send(
            "POST",
            &central,
            &format!("{}/{id}/revoke", permits_of("ugyfel")),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = refresh(&app, &secret, &refresh_token).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{e}"
    );
    // A permit that runs out takes its grants with it, though refresh tokens last weeks.
    issue(&app, &central, "ugyfel").await;
    let refresh_token = grant("p2").await;
    app.minutes(24 * 60 + 1);
    let (s, e) = refresh(&app, &secret, &refresh_token).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{e}"
    );
}

both!(
    a_permit_login_binds_one_replacement_device_and_ends_with_the_permit,
    a_grant_given_on_a_permit_ends_with_the_permit,
);
