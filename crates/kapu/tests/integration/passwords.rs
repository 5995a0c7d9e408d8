use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{App, code, link_token};

both!(
    an_activation_link_works_once_and_not_after_a_day,
    a_forgotten_password_link_reaches_only_the_owner_and_works_once,
    new_passwords_follow_the_rules_and_differ_from_the_last_three,
    an_aging_password_warns_then_insists_then_must_be_changed,
);

async fn an_activation_link_works_once_and_not_after_a_day(app: App) {
    let admin = app.admin().await;
    for login in ["elso.ember", "masodik.ember"] {
        app.send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users",
            json!({"login": login, "full_name": "E", "email": format!("{login}@x.hu")}),
        )
        .await;
    }
    let token = link_token(&app.mail_to("elso.ember@x.hu", 1).await, "/activate");
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": token, "password": "gyenge"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, body) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": token, "password": "Elso-Ember1"}),
        )
        .await;
    assert_eq!(
        (s, body["login"].as_str()),
        (StatusCode::OK, Some("elso.ember@kozpont"))
    );
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": token, "password": "Masik-Jelszo1"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::GONE, "link_invalid"),
        "replayed link"
    );
    app.login("elso.ember@kozpont", "Elso-Ember1", "normal")
        .await;

    let late = link_token(&app.mail_to("masodik.ember@x.hu", 1).await, "/activate");
    app.days(1);
    app.minutes(1);
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": late, "password": "Masodik-Ember1"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::GONE, "link_invalid"),
        "expired link"
    );
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": "kitalalt", "password": "Masodik-Ember1"}),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::GONE, "link_invalid"));
    // A fresh link replaces it.
    let admin = app.admin().await;
    assert_eq!(
        app.send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/masodik.ember/activation-link",
            json!(null)
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    let fresh = app.mail_to("masodik.ember@x.hu", 2).await;
    app.activate(&fresh, "Masodik-Ember1").await;
}

async fn a_forgotten_password_link_reaches_only_the_owner_and_works_once(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "feledekeny.feri", "Feledekeny-1")
        .await;
    let before = app.outbox().len();
    let (s1, b1) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset",
            json!({"login": "nincs.ilyen@kozpont"}),
        )
        .await;
    let (s2, b2) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset",
            json!({"login": "feledekeny.feri@kozpont"}),
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(b1, b2, "same answer whether or not the account exists");
    let mail = app.mail_to("feledekeny.feri@kozpont.example", 2).await;
    assert_eq!(app.outbox().len(), before + 1);
    let token = link_token(&mail, "/password/reset");
    let (s, _) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset/complete",
            json!({"token": token, "password": "Feledekeny-2"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset/complete",
            json!({"token": token, "password": "Feledekeny-3"}),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::GONE, "link_invalid"));
    assert_eq!(
        app.login_raw("feledekeny.feri@kozpont", "Feledekeny-1", "normal")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("feledekeny.feri@kozpont", "Feledekeny-2", "normal")
        .await;
    // An activation link is not a reset link.
    let (s, _) = app
        .send(
            "POST",
            "",
            "/api/v1/activation",
            json!({"token": token, "password": "Feledekeny-4"}),
        )
        .await;
    assert_eq!(s, StatusCode::GONE);
    // Links expire after the system-variable time (1 hour by default).
    app.send(
        "POST",
        "",
        "/api/v1/password-reset",
        json!({"login": "feledekeny.feri@kozpont"}),
    )
    .await;
    let token = link_token(
        &app.mail_to("feledekeny.feri@kozpont.example", 3).await,
        "/password/reset",
    );
    app.minutes(61);
    let (s, _) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset/complete",
            json!({"token": token, "password": "Feledekeny-5"}),
        )
        .await;
    assert_eq!(s, StatusCode::GONE);
    let (s, _) = app
        .send(
            "POST",
            "",
            "/api/v1/password-reset",
            json!({"login": "rossz forma"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn new_passwords_follow_the_rules_and_differ_from_the_last_three(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "valto.viktor", "Jelszo-Egy-1")
        .await;
    let mut current = "Jelszo-Egy-1".to_string();
    let change = |cur: &str, new: &str| json!({"current_password": cur, "new_password": new});
    app.days(1);
    let token = app.login("valto.viktor@kozpont", &current, "normal").await;
    for (bad, rule) in [
        ("Rovid1", "password.too_short"),
        ("Nagyon-Hosszu-Jelszo-123", "password.too_long"),
        ("csupakisbetu1", "password.needs_upper"),
        ("CSUPANAGYBETU1", "password.needs_lower"),
        ("Nincs-Szamjegy", "password.needs_digit"),
    ] {
        let (s, err) = app
            .send("PUT", &token, "/api/v1/me/password", change(&current, bad))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(err["error"]["fields"][0]["code"], rule, "{bad}: {err}");
    }
    let (s, err) = app
        .send(
            "PUT",
            &token,
            "/api/v1/me/password",
            change("Rossz-Jelenlegi1", "Jelszo-Ketto-2"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "current_password");
    for next in ["Jelszo-Ketto-2", "Jelszo-Harom-3"] {
        let token = app.login("valto.viktor@kozpont", &current, "normal").await;
        assert_eq!(
            app.send("PUT", &token, "/api/v1/me/password", change(&current, next))
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        current = next.to_string();
        app.days(1);
    }
    let token = app.login("valto.viktor@kozpont", &current, "normal").await;
    for old in ["Jelszo-Egy-1", "Jelszo-Ketto-2", "Jelszo-Harom-3"] {
        let (s, err) = app
            .send("PUT", &token, "/api/v1/me/password", change(&current, old))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err["error"]["fields"][0]["code"], "password.reused",
            "{old}"
        );
    }
    assert_eq!(
        app.send(
            "PUT",
            &token,
            "/api/v1/me/password",
            change(&current, "Jelszo-Negy-4")
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    app.days(1);
    let token = app
        .login("valto.viktor@kozpont", "Jelszo-Negy-4", "normal")
        .await;
    // The first one has left the last three.
    assert_eq!(
        app.send(
            "PUT",
            &token,
            "/api/v1/me/password",
            change("Jelszo-Negy-4", "Jelszo-Egy-1")
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert!(
        app.mail_to("valto.viktor@kozpont.example", 2)
            .await
            .contains("megváltozott")
    );
}

async fn an_aging_password_warns_then_insists_then_must_be_changed(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "oreg.olga", "Oreg-Olga-01")
        .await;
    let login = |app: &App| {
        let http = app.http.clone();
        let url = app.url("/api/v1/session");
        async move {
            let r = http
                .post(url)
                .json(&json!({"login": "oreg.olga@kozpont", "password": "Oreg-Olga-01"}))
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    app.days(109);
    assert_eq!(login(&app).await["password"]["state"], "valid");
    app.days(1);
    let s = login(&app).await;
    assert_eq!(
        (
            s["password"]["state"].as_str(),
            s["password"]["mandatory"].as_bool()
        ),
        (Some("warning"), Some(false))
    );
    assert_eq!(s["password"]["days_left"], 10);
    let token = s["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.send(
            "POST",
            &token,
            "/api/v1/me/password-warning/silence",
            json!(null)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(login(&app).await["password"]["state"], "valid", "silenced");
    app.days(5);
    let s = login(&app).await;
    assert_eq!(
        (
            s["password"]["state"].as_str(),
            s["password"]["mandatory"].as_bool()
        ),
        (Some("warning"), Some(true))
    );
    app.days(5);
    let s = login(&app).await;
    assert_eq!(s["password"]["state"], "expired");
    assert_eq!(s["password_change_required"], true);
    let token = s["token"].as_str().unwrap().to_string();
    let (st, err) = app.get(&token, "/api/v1/tenants/kozpont").await;
    assert_eq!(
        (st, code(&err)),
        (StatusCode::FORBIDDEN, "password_expired")
    );
    let (st, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(
        (st, me["password_change_required"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (st, _) = app
        .send(
            "PUT",
            &token,
            "/api/v1/me/password",
            json!({"current_password": "Oreg-Olga-01", "new_password": "Uj-Olga-Jelszo2"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = app.get(&token, "/api/v1/tenants/kozpont").await;
    assert_eq!(
        st,
        StatusCode::OK,
        "the same session goes on once the password is new"
    );
    let s = app
        .login("oreg.olga@kozpont", "Uj-Olga-Jelszo2", "normal")
        .await;
    assert!(!s.is_empty());
}
