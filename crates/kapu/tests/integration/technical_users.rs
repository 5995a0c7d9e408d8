//! Technical users: made by a user maintainer with passwords Kapu generates (shown once),
//! kept apart from people (no pages, not in the people list, no person's login), held to
//! their networks, and locked after three wrong logins in a row, counted under parallel
//! attempts, until a maintainer unlocks them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};

const BASE: &str = "/api/v1/tenants/kozpont/technical-users";

async fn create(app: &App, admin: &str, id: &str, networks: Value) -> (StatusCode, Value) {
    app.send(
        "POST",
        admin,
        BASE,
        json!({"id": id, "description": "Könyvelési import", "contact": "it@kozpont.example",
               "allowed_networks": networks}),
    )
    .await
}

async fn machine_login(app: &App, id: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        "",
        "/api/v1/machine/session",
        json!({"tenant": "kozpont", "user_id": id, "password": password}),
    )
    .await
}

async fn a_technical_user_logs_in_through_the_machine_door_only(app: App) {
    let admin = app.admin().await;
    let (s, e) = create(&app, &admin, "konyv:import", json!([])).await;
    assert_eq!(
        (s, e["error"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id")),
        "{e}"
    );
    let (s, made) = create(&app, &admin, "KONYV:IMPORT", json!([])).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let password = made["login_password"].as_str().unwrap().to_string();
    let signature = made["signature_password"].as_str().unwrap();
    assert!(password.len() >= 24 && signature.len() >= 24 && password != signature);
    let (s, _) = create(&app, &admin, "KONYV:IMPORT", json!([])).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, list) = app.get(&admin, BASE).await;
    assert_eq!(list["items"][0]["id"], "KONYV:IMPORT", "{list}");
    let (_, people) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?q=KONYV")
        .await;
    assert_eq!(people["items"].as_array().unwrap().len(), 0, "{people}");

    let (s, t) = machine_login(&app, "KONYV:IMPORT", &password).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    assert_eq!(app.get(&token, "/api/v1/me").await.0, StatusCode::OK);
    // No page opens for it, and a person's login does not know it.
    let r = app
        .http
        .get(app.url("/"))
        .header("cookie", format!("kapu_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    let r = app
        .login_raw("KONYV:IMPORT@kozpont", &password, "normal")
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());

    // A new pair of passwords ends the old one and its sessions.
    let (s, fresh) = app
        .send(
            "POST",
            &admin,
            &format!("{BASE}/KONYV:IMPORT/passwords"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fresh}");
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        machine_login(&app, "KONYV:IMPORT", &password).await.0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = fresh["login_password"].as_str().unwrap();
    assert_eq!(
        machine_login(&app, "KONYV:IMPORT", fresh).await.0,
        StatusCode::CREATED
    );
}

async fn three_wrong_logins_lock_it_until_a_maintainer_unlocks_it(app: App) {
    let admin = app.admin().await;
    let (_, made) = create(&app, &admin, "KONYV:EXPORT", json!([])).await;
    let password = made["login_password"].as_str().unwrap().to_string();
    let answers = futures_util::future::join_all(
        (0..8).map(|_| machine_login(&app, "KONYV:EXPORT", "nem-ez-a-jelszo")),
    )
    .await;
    let judged = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        judged <= 2,
        "at most two told wrong before the third locks: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, e)| *s != StatusCode::CREATED && !e.is_null())
    );
    let (s, e) = machine_login(&app, "KONYV:EXPORT", &password).await;
    assert_eq!((s, code(&e)), (StatusCode::LOCKED, "account_locked"), "{e}");
    let (_, list) = app.get(&admin, BASE).await;
    assert_eq!(list["items"][0]["locked"], true, "{list}");
    // The tenant's user maintainers hear of the lock, and of the unlock.
    let before = app
        .outbox()
        .iter()
        .filter(|m| m.contains("To: admin@kozpont.example"))
        .count()
        .max(1);
    let mail = app.mail_to("admin@kozpont.example", before).await;
    assert!(
        mail.contains("KONYV:EXPORT") && mail.contains("zárolva"),
        "{mail}"
    );
    let (s, _) = app
        .send(
            "POST",
            &admin,
            &format!("{BASE}/KONYV:EXPORT/unlock"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mail = app.mail_to("admin@kozpont.example", before + 1).await;
    assert!(
        mail.contains("KONYV:EXPORT") && mail.contains("feloldva"),
        "{mail}"
    );
    assert_eq!(
        machine_login(&app, "KONYV:EXPORT", &password).await.0,
        StatusCode::CREATED
    );
}

async fn a_login_from_outside_its_networks_fails_like_a_wrong_password(app: App) {
    let admin = app.admin().await;
    let (s, e) = create(&app, &admin, "KONYV:HALO", json!(["10.0.0.0/33"])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (_, made) = create(&app, &admin, "KONYV:HALO", json!(["10.0.0.0/8"])).await;
    let password = made["login_password"].as_str().unwrap();
    let (s, e) = machine_login(&app, "KONYV:HALO", password).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        "{e}"
    );
    let (_, made) = create(&app, &admin, "KONYV:HELYI", json!(["127.0.0.0/8", "::1"])).await;
    let password = made["login_password"].as_str().unwrap();
    assert_eq!(
        machine_login(&app, "KONYV:HELYI", password).await.0,
        StatusCode::CREATED
    );
}

both!(
    a_technical_user_logs_in_through_the_machine_door_only,
    three_wrong_logins_lock_it_until_a_maintainer_unlocks_it,
    a_login_from_outside_its_networks_fails_like_a_wrong_password,
);
