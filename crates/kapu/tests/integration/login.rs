use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{ADMIN, ADMIN_PW, App, code};

both!(
    a_correct_password_opens_a_session_that_identifies_the_user,
    wrong_or_malformed_logins_are_refused_clearly,
    five_wrong_passwords_lock_the_account_until_the_lock_lifts,
    an_administrator_lifts_a_lock_at_once,
    an_administrator_lock_refuses_even_the_right_password_and_ends_sessions,
    failed_logins_from_one_address_are_throttled,
    sessions_end_after_idle_and_absolute_timeouts,
    logout_ends_this_session_and_logout_everywhere_ends_all,
    writes_in_normal_mode_need_secure_mode,
    health_and_readiness_answer_json,
);

async fn a_correct_password_opens_a_session_that_identifies_the_user(app: App) {
    let token = app.login(ADMIN, ADMIN_PW, "normal").await;
    let (s, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["login"], "admin@kozpont");
    assert_eq!(me["tenant"]["code"], "kozpont");
    assert_eq!(me["tenant"]["central"], true);
    assert_eq!(me["mode"], "normal");
    let roles: Vec<&str> = me["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(roles.contains(&"kapu.user_maintainer") && roles.contains(&"kapu.log_reader"));
    assert_eq!(me["password"]["expiry"]["state"], "valid");

    let (s, body) = app.get("not-a-token", "/api/v1/me").await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

async fn wrong_or_malformed_logins_are_refused_clearly(app: App) {
    let r = app.login_raw(ADMIN, "Wrong-Password1", "normal").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&body), "invalid_credentials");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());

    for bad in [
        "Admin@kozpont",
        "admin",
        "admin@",
        "ad min@kozpont",
        "árvíz@kozpont",
    ] {
        let r = app.login_raw(bad, ADMIN_PW, "normal").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "login");
    }
    // An account in a tenant that does not exist looks like a wrong password.
    let r = app.login_raw("admin@nincsilyen", ADMIN_PW, "normal").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.login_raw(ADMIN, ADMIN_PW, "root").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .send("POST", "", "/api/v1/session", json!({"login": 5}))
        .await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let r = app.login_raw(ADMIN, &"x".repeat(10_000), "normal").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn five_wrong_passwords_lock_the_account_until_the_lock_lifts(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "kovacs.janos", "Kovacs-Janos1")
        .await;
    for _ in 0..4 {
        let r = app
            .login_raw("kovacs.janos@kozpont", "Rossz-Jelszo1", "normal")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .login_raw("kovacs.janos@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::LOCKED);
    // Locked: the same answer whether the password is right or wrong.
    let right = app
        .login_raw("kovacs.janos@kozpont", "Kovacs-Janos1", "normal")
        .await;
    let wrong = app
        .login_raw("kovacs.janos@kozpont", "Rossz-Jelszo2", "normal")
        .await;
    assert_eq!(right.status(), StatusCode::LOCKED);
    assert_eq!(wrong.status(), StatusCode::LOCKED);
    // Nothing tells a temporary lock from an administrative one (or from a name without
    // an account): no Retry-After, one message.
    assert!(right.headers().get("retry-after").is_none());
    let right: serde_json::Value = right.json().await.unwrap();
    let wrong: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(code(&right), "account_locked");
    assert_eq!(right["error"]["code"], wrong["error"]["code"]);
    assert_eq!(right["error"]["message"], wrong["error"]["message"]);
    assert!(right["error"].get("retry_after_seconds").is_none());

    app.minutes(9);
    assert_eq!(
        app.login_raw("kovacs.janos@kozpont", "Kovacs-Janos1", "normal")
            .await
            .status(),
        StatusCode::LOCKED
    );
    app.minutes(2);
    app.login("kovacs.janos@kozpont", "Kovacs-Janos1", "normal")
        .await;

    // The lockout numbers are system variables.
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/lockout_threshold",
            json!({"value": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.login_raw("kovacs.janos@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    let r = app
        .login_raw("kovacs.janos@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::LOCKED);
}

async fn an_administrator_lifts_a_lock_at_once(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "nagy.eva", "Nagy-Eva-123")
        .await;
    for _ in 0..5 {
        app.login_raw("nagy.eva@kozpont", "Rossz-Jelszo1", "normal")
            .await;
    }
    let (_, user) = app
        .get(&admin, "/api/v1/tenants/kozpont/users/nagy.eva")
        .await;
    assert_eq!(user["status"], "temporarily_locked");
    let (s, user) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/nagy.eva/unlock",
            json!(null),
        )
        .await;
    assert_eq!(
        (s, user["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    app.login("nagy.eva@kozpont", "Nagy-Eva-123", "normal")
        .await;
}

async fn an_administrator_lock_refuses_even_the_right_password_and_ends_sessions(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "szabo.anna", "Szabo-Anna1")
        .await;
    let session = app
        .login("szabo.anna@kozpont", "Szabo-Anna1", "normal")
        .await;
    let (s, user) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/szabo.anna/lock",
            json!(null),
        )
        .await;
    assert_eq!(
        (s, user["status"].as_str()),
        (StatusCode::OK, Some("locked"))
    );
    assert_eq!(
        app.get(&session, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let right = app
        .login_raw("szabo.anna@kozpont", "Szabo-Anna1", "normal")
        .await;
    assert_eq!(right.status(), StatusCode::LOCKED);
    assert!(right.headers().get("retry-after").is_none());
    let wrong = app
        .login_raw("szabo.anna@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    assert_eq!(wrong.status(), StatusCode::LOCKED);
    let (s, body) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/admin/lock",
            json!(null),
        )
        .await;
    assert_eq!((s, code(&body)), (StatusCode::CONFLICT, "conflict"));
    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users/szabo.anna/unlock",
        json!(null),
    )
    .await;
    app.login("szabo.anna@kozpont", "Szabo-Anna1", "normal")
        .await;
}

async fn failed_logins_from_one_address_are_throttled(app: App) {
    let admin = app.admin().await;
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/login_throttle_per_minute",
            json!({"value": "3"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Start at the top of a one-minute window, so the window cannot turn mid-test.
    let into_minute = app.kapu.now().rem_euclid(60_000);
    app.clock.advance(60_000 - into_minute + 1_000);
    // Failures spread over different accounts still count against the address.
    for who in ["a.a@kozpont", "b.b@kozpont", "c.c@kozpont"] {
        assert_eq!(
            app.login_raw(who, "Rossz-Jelszo1", "normal").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.login_raw(ADMIN, ADMIN_PW, "normal").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&body), "too_many_requests");
    app.minutes(1);
    app.login(ADMIN, ADMIN_PW, "normal").await;
}

async fn sessions_end_after_idle_and_absolute_timeouts(app: App) {
    let token = app.login(ADMIN, ADMIN_PW, "normal").await;
    app.minutes(29);
    assert_eq!(app.get(&token, "/api/v1/me").await.0, StatusCode::OK);
    app.minutes(29);
    assert_eq!(app.get(&token, "/api/v1/me").await.0, StatusCode::OK);
    app.minutes(31);
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    let token = app.login(ADMIN, ADMIN_PW, "normal").await;
    for _ in 0..25 {
        app.minutes(29);
        app.get(&token, "/api/v1/me").await;
    }
    // Kept busy, the session still ends after 12 hours.
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn logout_ends_this_session_and_logout_everywhere_ends_all(app: App) {
    let a = app.login(ADMIN, ADMIN_PW, "normal").await;
    let b = app.login(ADMIN, ADMIN_PW, "normal").await;
    let c = app.login(ADMIN, ADMIN_PW, "normal").await;
    assert_eq!(
        app.send("DELETE", &a, "/api/v1/session", json!(null))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&a, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&b, "/api/v1/me").await.0, StatusCode::OK);
    let (s, body) = app
        .send("DELETE", &b, "/api/v1/sessions", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["revoked_sessions"], 2);
    assert_eq!(app.get(&c, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn writes_in_normal_mode_need_secure_mode(app: App) {
    let normal = app.login(ADMIN, ADMIN_PW, "normal").await;
    let (s, list) = app.get(&normal, "/api/v1/tenants/kozpont/users").await;
    assert_eq!(s, StatusCode::OK, "reads work in normal mode: {list}");
    let (s, body) = app
        .send(
            "POST",
            &normal,
            "/api/v1/tenants/kozpont/users",
            json!({"login": "x.y", "full_name": "X Y", "email": "x@y.hu"}),
        )
        .await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
    let (_, list) = app.get(&normal, "/api/v1/tenants/kozpont/users").await;
    assert_eq!(list["total"], 1, "nothing was created");
}

async fn health_and_readiness_answer_json(app: App) {
    let (s, body) = app.get("", "/healthz").await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, body) = app.get("", "/readyz").await;
    assert_eq!((s, body["database"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, doc) = app.get("", "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/session"]["post"].is_object());
    assert!(doc["paths"]["/tenants/{tenant}/users/{login}/lock"]["post"].is_object());
    assert!(doc["paths"]["/tenants/{tenant}/substitutions"]["post"].is_object());
    assert_eq!(
        doc["paths"]["/tenants/{tenant}/users"]["get"]["responses"]["200"]["content"]["text/csv"]["schema"]
            ["type"],
        "string",
        "CSV variants are documented"
    );

    // The interactive reference is served from the binary.
    let r = app.http.get(app.url("/api/v1/docs/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    let r = app
        .http
        .get(app.url("/api/v1/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("/api/v1/openapi.json"));
}
