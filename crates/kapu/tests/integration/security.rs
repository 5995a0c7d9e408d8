//! The findings of an outside security probe, each shown fixed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::forms::{browser, log_in, page};
use crate::harness::{ADMIN, App, Backend, code, link_token};

both!(
    the_language_switch_returns_only_to_a_local_path,
    a_password_change_revokes_every_outstanding_link,
    password_reset_requests_are_throttled_per_account_and_address,
    an_unknown_name_locks_exactly_like_an_account,
    csv_cells_with_separators_are_quoted_and_formulas_neutralised,
    a_planted_pre_login_csrf_pair_is_refused,
    a_launch_address_must_be_absolute_https,
    a_sent_mail_keeps_no_body_in_the_queue,
    administrative_forms_show_only_to_those_who_may_use_them,
    requests_the_framework_cannot_read_get_the_json_error,
);

/// A path value that does not parse, an upload without its boundary and a wrong content
/// type are refused in the API's JSON body, with statuses the operations document.
async fn requests_the_framework_cannot_read_get_the_json_error(app: App) {
    let admin = app.admin().await;
    let (s, b) = app
        .get(&admin, "/api/v1/mailboxes/me/messages/nincs/documents/abc")
        .await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"), "{b}");
    let r = app
        .http
        .post(app.url("/api/v1/mailboxes/me/messages"))
        .bearer_auth(&admin)
        .header("content-type", "multipart/form-data")
        .body("--x\r\n")
        .send()
        .await
        .unwrap();
    let (s, b) = crate::harness::split(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["fields"][0]["code"], "request.multipart", "{b}");
    let r = app
        .http
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    let (s, b) = crate::harness::split(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["error"]["request_id"].is_string(), "{b}");
}

async fn the_language_switch_returns_only_to_a_local_path(app: App) {
    for (back, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0a/x", "/"),
        ("/%0d%0aSet-Cookie:%20x=1", "/"),
        ("//evil.example", "/"),
        ("/%5cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("/admin/users%3Fpage%3D2", "/admin/users?page=2"),
    ] {
        let r = app
            .http
            .get(app.url(&format!("/lang?to=en&back={back}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{back}");
        assert_eq!(r.headers()["location"], expected, "{back}");
    }
}

async fn a_password_change_revokes_every_outstanding_link(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "link.lilla", "Link-Lilla-1")
        .await;
    app.request_reset("link.lilla@kozpont").await;
    let mail = app.mail_to("link.lilla@kozpont.example", 2).await;
    let token = link_token(&mail, "/password/reset");

    // A day later (one change a day) she changes her password herself.
    app.days(1);
    let own = app
        .login("link.lilla@kozpont", "Link-Lilla-1", "normal")
        .await;
    let (s, b) = app
        .send(
            "PUT",
            &own,
            "/api/v1/me/password",
            json!({"current_password": "Link-Lilla-1", "new_password": "Uj-Jelszo-22"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset/complete",
            json!({"token": token, "password": "Tamado-Jelszo-3"}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::GONE, "link_invalid"));
    app.login("link.lilla@kozpont", "Uj-Jelszo-22", "normal")
        .await;
}

async fn password_reset_requests_are_throttled_per_account_and_address(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "sok.level", "Sok-Level-1")
        .await;
    for _ in 0..20 {
        // The same answer, throttled or not.
        app.request_reset("sok.level@kozpont").await;
    }
    // The activation mail and at most three reset mails an hour.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = app
        .outbox()
        .into_iter()
        .filter(|m| m.contains("To: sok.level@kozpont.example"))
        .count();
    assert_eq!(mails, 1 + 3);
    // Per address too: other names from the same address are throttled within the minute.
    let (_, log) = app.get(&admin, "/api/v1/audit?per_page=100").await;
    let throttled = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "password.reset_requested" && r["outcome"] == "throttled")
        .count();
    assert_eq!(throttled, 17);
    app.minutes(61);
    app.request_reset("sok.level@kozpont").await;
    app.mail_to("sok.level@kozpont.example", 5).await;
}

async fn an_unknown_name_locks_exactly_like_an_account(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "valodi.vera", "Valodi-Vera-1")
        .await;
    let mut answers = Vec::new();
    for who in ["valodi.vera@kozpont", "nincs.ilyen@kozpont"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let r = app.login_raw(who, "Rossz-Jelszo1", "normal").await;
            statuses.push(r.status().as_u16());
            assert!(r.headers().get("retry-after").is_none());
            let body: Value = r.json().await.unwrap();
            answers.push((
                body["error"]["code"].clone(),
                body["error"]["message"].clone(),
            ));
        }
        assert_eq!(statuses, [401, 401, 401, 401, 423, 423], "{who}");
    }
    // The same six answers for the real and the unknown name.
    assert_eq!(answers[..6], answers[6..]);

    // An administrative lock answers exactly like the temporary one.
    app.user(&admin, "kozpont", "zart.zoltan", "Zart-Zoltan-1")
        .await;
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/zart.zoltan/lock",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .login_raw("zart.zoltan@kozpont", "Zart-Zoltan-1", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::LOCKED);
    assert!(r.headers().get("retry-after").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["error"]["code"].clone(),
            body["error"]["message"].clone()
        ),
        answers[5]
    );
    // The administrator sees the difference on the user's page.
    let (_, user) = app
        .get(&admin, "/api/v1/tenants/kozpont/users/zart.zoltan")
        .await;
    assert_eq!(user["status"], "locked");
    let (_, user) = app
        .get(&admin, "/api/v1/tenants/kozpont/users/valodi.vera")
        .await;
    assert_eq!(user["status"], "temporarily_locked");

    // The unknown name unlocks after the lock duration like an account does.
    app.minutes(11);
    let r = app
        .login_raw("nincs.ilyen@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn csv_cells_with_separators_are_quoted_and_formulas_neutralised(app: App) {
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users",
            json!({"login": "keplet.kata", "full_name": "Kovacs;=HYPERLINK(1)", "email": "keplet@kozpont.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let csv = app
        .csv(&admin, "/api/v1/tenants/kozpont/users?format=csv")
        .await;
    assert!(csv.contains("\"Kovacs;'=HYPERLINK(1)\""), "{csv}");
    assert!(!csv.contains(";=HYPERLINK"), "{csv}");
}

async fn a_planted_pre_login_csrf_pair_is_refused(app: App) {
    // A cookie and a field of the attacker's choosing (set from a sibling subdomain, say).
    let planted = format!("{}.{}", "A".repeat(43), "0".repeat(64));
    let r = app
        .http
        .post(app.url("/login"))
        .header("cookie", format!("kapu_csrf={planted}"))
        .form(&[
            ("csrf", planted.as_str()),
            ("login", ADMIN),
            ("password", "x"),
            ("mode", "normal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A token this server made still works.
    let b = browser();
    let (s, location, _) = log_in(&b, &app, ADMIN, crate::harness::ADMIN_PW, "normal").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/"));
}

async fn a_launch_address_must_be_absolute_https(app: App) {
    let admin = app.admin().await;
    for bad in [
        "/\\evil.example",
        "//evil.example",
        "/admin",
        "http://evil.example/",
        "https://",
    ] {
        let (s, b) = app
            .send(
                "POST",
                &admin,
                "/api/v1/services",
                json!({"code": "rossz", "name": "Rossz", "launch_url": bad}),
            )
            .await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{bad}"
        );
    }
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services",
            json!({"code": "helyi", "name": "Helyi", "launch_url": "http://localhost:3000/"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn a_sent_mail_keeps_no_body_in_the_queue(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "posta.peti", "Posta-Peti-1")
        .await;
    // Delivered: the outbox has it; the queue keeps only who, what and when.
    let bodies: Vec<(String, i64)> = {
        use sqlx::Row as _;
        sqlx::query("SELECT body, sent_at FROM mail_queue WHERE recipient = $1")
            .bind("posta.peti@kozpont.example")
            .fetch_all(app.kapu.db().pool())
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>("body"),
                    r.get::<Option<i64>, _>("sent_at").unwrap_or(0),
                )
            })
            .collect()
    };
    assert!(!bodies.is_empty());
    for (body, sent_at) in bodies {
        assert!(sent_at > 0);
        assert_eq!(body, "", "a one-time link stays in the queue after sending");
    }
}

async fn administrative_forms_show_only_to_those_who_may_use_them(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "sima.sanyi", "Sima-Sanyi-1")
        .await;
    let b = browser();
    log_in(&b, &app, "sima.sanyi@kozpont", "Sima-Sanyi-1", "secure").await;
    for path in [
        "/admin/tenants/new",
        "/admin/users/new",
        "/admin/services/new",
        "/admin/groups/new",
        "/admin/substitutions/new",
    ] {
        let (s, html) = page(&b, &app, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("Ehhez nincs jogosultsága."), "{path}");
        assert!(!html.contains("novalidate"), "{path} shows no form");
    }
    // The administrator gets the form.
    let ab = browser();
    log_in(&ab, &app, ADMIN, crate::harness::ADMIN_PW, "secure").await;
    let (s, html) = page(&ab, &app, "/admin/tenants/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("novalidate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_transport_security_is_sent_when_the_public_url_is_https() {
    let app = App::spawn_with(Backend::Sqlite, |c| {
        c.public_url = "https://kapu.example.hu".into();
    })
    .await;
    let r = app.http.get(app.url("/login")).send().await.unwrap();
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let plain = App::spawn(Backend::Sqlite).await;
    let r = plain.http.get(plain.url("/login")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}
