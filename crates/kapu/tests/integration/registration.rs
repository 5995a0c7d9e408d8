//! Citizens register themselves and confirm their e-mail address before the first login.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{App, code, link_token};

fn body(login: &str, email: &str) -> serde_json::Value {
    json!({"full_name": "Nagy Éva", "email": email, "login": login, "password": "Nagy-Eva-2026"})
}

/// A citizen registered and confirmed in the citizens' tenant; their session token.
pub(crate) async fn registered_citizen(app: &App, login: &str) -> String {
    let email = format!("{login}@example.hu");
    let (s, b) = app
        .send("POST", "", "/api/v1/registrations", body(login, &email))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let mail = app.mail_to(&email, 1).await;
    let token = link_token(&mail, "/register/verify");
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.login(&format!("{login}@ugyfelkapu"), "Nagy-Eva-2026", "normal")
        .await
}

async fn a_citizen_registers_confirms_the_address_and_then_logs_in(app: App) {
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations",
            body("nagy.eva", "nagy.eva@example.hu"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["login"], "nagy.eva@ugyfelkapu");
    // Before the confirmation the password does not open the account.
    let r = app
        .login_raw("nagy.eva@ugyfelkapu", "Nagy-Eva-2026", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let mail = app.mail_to("nagy.eva@example.hu", 1).await;
    assert!(mail.contains("nagy.eva@ugyfelkapu"));
    let token = link_token(&mail, "/register/verify");
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The link works once.
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(s, StatusCode::GONE, "{b}");
    let citizen = app
        .login("nagy.eva@ugyfelkapu", "Nagy-Eva-2026", "normal")
        .await;
    let (s, b) = app.get(&citizen, "/api/v1/mailboxes").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["items"][0]["address"], "me");
    // The login name is taken now.
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations",
            body("nagy.eva", "masik@example.hu"),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
}

async fn bad_registrations_are_refused_field_by_field_and_throttled_per_address(app: App) {
    // Throttling counts per clock minute: start just after a minute begins, so that the six
    // attempts below fall in one window however slowly the machine runs.
    let now = app.kapu.now();
    app.clock.advance(60_000 - now.rem_euclid(60_000) + 100);
    let (s, b) = app
        .send("POST", "", "/api/v1/registrations",
              json!({"full_name": "", "email": "nem-email", "login": "Rossz Nev", "password": "rovid"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let fields: Vec<&str> = b["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["full_name", "email", "login", "password"] {
        assert!(fields.contains(&f), "{f}: {b}");
    }
    // Five a minute from one address (the default), then 429 with Retry-After.
    for i in 0..4 {
        let (s, _) = app
            .send(
                "POST",
                "",
                "/api/v1/registrations",
                body(&format!("polgar.{i}"), &format!("p{i}@example.hu")),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations",
            body("polgar.x", "px@example.hu"),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(code(&b), "too_many_requests");
    app.minutes(1);
    let (s, _) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations",
            body("polgar.y", "py@example.hu"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

/// The citizens' tenant has no user maintainer of its own by design: central administrators
/// lock, unlock, delete and give rights to its users, and change its contract, without the
/// last-maintainer rule standing in the way.
async fn central_administrators_manage_citizens(app: App) {
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/registrations",
            body("kovacs.bela", "kovacs.bela@example.hu"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let base = "/api/v1/tenants/ugyfelkapu/users/kovacs.bela";
    for (method, path, body) in [
        ("POST", format!("{base}/lock"), serde_json::Value::Null),
        ("POST", format!("{base}/unlock"), serde_json::Value::Null),
        ("PUT", format!("{base}/rights"), json!({"roles": []})),
        (
            "PUT",
            "/api/v1/tenants/ugyfelkapu/services".to_string(),
            json!({"services": []}),
        ),
        ("DELETE", base.to_string(), serde_json::Value::Null),
    ] {
        let (s, b) = app.send(method, &admin, &path, body).await;
        assert!(s.is_success(), "{method} {path}: {s} {b}");
    }
}

both!(
    central_administrators_manage_citizens,
    a_citizen_registers_confirms_the_address_and_then_logs_in,
    bad_registrations_are_refused_field_by_field_and_throttled_per_address,
);
