//! A service's grant lasts no longer than the account's standing: a new password (own,
//! set by an administrator, or by reset), "log out everywhere", a lock and a deletion each
//! revoke every grant of the user and tell the service over the back channel, and so does a
//! password left to expire; an unlock brings none back. What tokens say of roles is what the user holds at that moment.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::{contract, set_rights};
use crate::both;
use crate::forms::{browser, log_in};
use crate::harness::App;
use crate::sso::{
    PW, REDIRECT, authorize, authorize_url, exchange, param, pkce, refresh, setup, userinfo,
};
use crate::sso_tokens::logout_listener;

/// A fresh grant for `login` (through a browser login and the consent), as tokens.
async fn grant(app: &App, secret: &str, login: &str, password: &str, seed: &str) -> Value {
    let b = browser();
    let (s, to, _) = log_in(&b, app, login, password, "normal").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"), "{login}");
    let (verifier, challenge) = pkce(seed);
    let back = authorize(app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));
    let (s, t) = exchange(app, secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

async fn refused(app: &App, secret: &str, t: &Value, after: &str) {
    let (s, e) = refresh(app, secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the refresh token outlived {after}"
    );
    let (s, _) = userinfo(app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the access token outlived {after}"
    );
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn security_events_end_every_grant_and_tell_the_service(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let (backchannel, seen) = logout_listener().await;
    let register = || {
        app.send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu",
                   "backchannel_logout_uri": backchannel}),
        )
    };
    // The listener is on this machine: an internal address, refused outside development.
    let (s, e) = register().await;
    assert_eq!(
        (s, e["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("sso.backchannel_internal")
        ),
        "{e}"
    );
    crate::harness::set_global(&app.kapu, "sso_backchannel_private_networks", "true").await;
    let (s, c) = register().await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let login = "ugyfel@kozpont";

    // Log out everywhere.
    let t = grant(&app, &secret, login, PW, "a").await;
    let api = app.login(login, PW, "normal").await;
    let (s, _) = app
        .send("DELETE", &api, "/api/v1/sessions", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    refused(&app, &secret, &t, "log out everywhere").await;

    // The user's own new password (a password may change once a day).
    app.days(2);
    let admin = app.admin().await;
    let t = grant(&app, &secret, login, PW, "b").await;
    let api = app.login(login, PW, "normal").await;
    let pw2 = "Masodik-Jelszo-2";
    let (s, b) = app
        .send(
            "PUT",
            &api,
            "/api/v1/me/password",
            json!({"current_password": PW, "new_password": pw2}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    refused(&app, &secret, &t, "a password change").await;

    // A reset through the e-mailed link.
    let t = grant(&app, &secret, login, pw2, "c").await;
    let before = app.outbox().len();
    app.request_reset(login).await;
    let mut mail = String::new();
    for _ in 0..100 {
        if let Some(m) = app.outbox()[before..]
            .iter()
            .find(|m| m.contains("/password/reset"))
        {
            mail = m.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let link = crate::harness::link_token(&mail, "/password/reset");
    let pw3 = "Harmadik-Jelszo-3";
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset/complete",
            json!({"token": link, "password": pw3}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    refused(&app, &secret, &t, "a password reset").await;

    // A lock; the unlock brings nothing back.
    let t = grant(&app, &secret, login, pw3, "d").await;
    for action in ["lock", "unlock"] {
        let (s, b) = app
            .send(
                "POST",
                &admin,
                &format!("/api/v1/tenants/kozpont/users/ugyfel/{action}"),
                Value::Null,
            )
            .await;
        assert!(s.is_success(), "{action}: {b}");
    }
    refused(&app, &secret, &t, "a lock and an unlock").await;

    // A password set by an administrator.
    let t = grant(&app, &secret, login, pw3, "e").await;
    let (s, b) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/kozpont/users/ugyfel/password",
            json!({"password": "Admin-Adta-Jelszo4"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    refused(&app, &secret, &t, "a password set by an administrator").await;

    // An expired password: the account can only change it, and its grants end for good.
    app.user(&admin, "kozpont", "lejaro", PW).await;
    let t = grant(&app, &secret, "lejaro@kozpont", PW, "x").await;
    crate::harness::set_global(&app.kapu, "password_max_age_days", "5").await;
    app.days(6);
    refused(&app, &secret, &t, "an expired password").await;
    crate::harness::set_global(&app.kapu, "password_max_age_days", "120").await;
    let (s, e) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a revoked grant stays revoked: {e}"
    );
    let admin = app.admin().await;

    // A deletion.
    app.user(&admin, "kozpont", "torlendo", PW).await;
    let t = grant(&app, &secret, "torlendo@kozpont", PW, "f").await;
    let (s, b) = app
        .send(
            "DELETE",
            &admin,
            "/api/v1/tenants/kozpont/users/torlendo",
            Value::Null,
        )
        .await;
    assert!(s.is_success(), "{b}");
    refused(&app, &secret, &t, "a deletion").await;

    // The service heard of each of the seven ended grants.
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let tokens = seen.lock().unwrap().clone();
    assert_eq!(tokens.len(), 7, "one back-channel logout per ended grant");
    let sids: std::collections::HashSet<String> = tokens
        .iter()
        .map(|t| payload(t)["sid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sids.len(), 7, "each for its own session");
}

async fn tokens_say_the_roles_the_user_holds_now(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let t = grant(&app, &secret, "ugyfel@kozpont", PW, "r").await;
    let access = t["access_token"].as_str().unwrap();
    let id = payload(t["id_token"].as_str().unwrap());
    assert_eq!(id["roles"], json!(["konyvelo"]));
    assert!(
        id.get("act").is_none(),
        "no act when nobody acts for another: {id}"
    );
    assert!(payload(access).get("act").is_none());
    let introspect = |token: String| {
        let app = &app;
        let secret = secret.clone();
        async move {
            let r = app
                .http
                .post(app.url("/oauth2/introspect"))
                .basic_auth("gazd", Some(secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let i = introspect(access.to_string()).await;
    assert_eq!(
        (i["active"].clone(), i["roles"].clone()),
        (json!(true), json!(["konyvelo"]))
    );
    assert!(i.get("act").is_none(), "{i}");

    // The role revoked: userinfo, introspection and a refreshed ID token drop it at once.
    let (s, b) = set_rights(&app, &admin, "kozpont", "ugyfel", json!({"roles": []})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, info) = userinfo(&app, access).await;
    assert_eq!(info["roles"], json!([]), "{info}");
    assert_eq!(introspect(access.to_string()).await["roles"], json!([]));
    let (s, t) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(payload(t["id_token"].as_str().unwrap())["roles"], json!([]));

    // Given back, it shows; the service dropped from the tenant's contract, it goes again.
    let (s, b) = set_rights(
        &app,
        &admin,
        "kozpont",
        "ugyfel",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, access).await.1["roles"], json!(["konyvelo"]));
    contract(&app, &admin, "kozpont", json!([])).await;
    assert_eq!(userinfo(&app, access).await.1["roles"], json!([]));
}

/// Registers gazd's client again with `body`'s fields over the usual ones.
async fn reregister(app: &App, admin: &str, extra: Value) -> Value {
    let mut body = json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, c) = app
        .send("PUT", admin, "/api/v1/services/gazd/client", body)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c["client"].clone()
}

/// PKCE and introspection as RFC 9700 and RFC 7662 ask: a new confidential client must
/// send PKCE unless its registration says otherwise; a verifier for a code issued without
/// a challenge is refused; a public client may not introspect.
async fn a_verifier_without_a_challenge_and_a_public_introspection_are_refused(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let b = browser();
    log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    // The system variable's default: a new confidential client is held to PKCE.
    let (s, c) = app.get(&admin, "/api/v1/services/gazd/client").await;
    assert_eq!(
        (s, &c["require_pkce"]),
        (StatusCode::OK, &json!(true)),
        "{c}"
    );
    let back = authorize(&app, &b, &authorize_url("gazd", None, "")).await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    assert_eq!(
        param(&back, "error_description").as_deref(),
        Some("PKCE is required")
    );
    // A maintainer's choice stays through later changes that do not name it.
    assert_eq!(
        reregister(&app, &admin, json!({"require_pkce": false})).await["require_pkce"],
        false
    );
    assert_eq!(
        reregister(&app, &admin, json!({"contact": "ops@gazd.example.hu"})).await["require_pkce"],
        false
    );
    let back = authorize(&app, &b, &authorize_url("gazd", None, "")).await;
    let code = param(&back, "code").unwrap();
    let (s, e) = exchange(
        &app,
        &secret,
        &code,
        "verifier-of-some-other-flow-xxxxxxxxxxxxxxxxxx",
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{e}"
    );
    // A public client may not introspect.
    reregister(&app, &admin, json!({"client_type": "public"})).await;
    let r = app
        .http
        .post(app.url("/oauth2/introspect"))
        .form(&[("client_id", "gazd"), ("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
}

/// With the system variable off, new registrations take no PKCE from confidential clients;
/// registrations made before keep theirs.
async fn the_pkce_variable_sets_new_registrations_only(app: App) {
    let (admin, _) = setup(&app, "production").await;
    crate::harness::set_global(&app.kapu, "sso_pkce_required", "false").await;
    assert_eq!(
        reregister(&app, &admin, json!({})).await["require_pkce"],
        true
    );
    let (s, _) = app
        .send("POST", &admin, "/api/v1/services", json!({"code": "viz", "name": "Víz", "launch_url": "https://viz.example.hu/", "roles": []}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/viz/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@viz.example.hu"}),
        )
        .await;
    assert_eq!(
        (s, &c["client"]["require_pkce"]),
        (StatusCode::OK, &json!(false)),
        "{c}"
    );
}

both!(
    security_events_end_every_grant_and_tell_the_service,
    tokens_say_the_roles_the_user_holds_now,
    a_verifier_without_a_challenge_and_a_public_introspection_are_refused,
    the_pkce_variable_sets_new_registrations_only,
);
