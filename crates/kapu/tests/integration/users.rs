use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{App, code};

both!(
    users_are_created_listed_filtered_sorted_and_paged,
    bad_user_input_is_refused_field_by_field_and_nothing_is_written,
    a_login_name_is_unique_fixed_and_never_reused_after_deletion,
    a_deleted_user_disappears_and_cannot_log_in,
    a_tenant_administrator_cannot_see_or_touch_another_tenant,
    an_administrator_changes_user_data_and_sets_a_password,
);

async fn users_are_created_listed_filtered_sorted_and_paged(app: App) {
    let admin = app.admin().await;
    for (login, name) in [
        ("kovacs.janos", "Kovács János"),
        ("nagy.eva", "Nagy Éva"),
        ("toth.bela", "Tóth Béla"),
        ("abel.zoltan", "Ábel Zoltán"),
    ] {
        let (s, b) = app
            .send(
                "POST",
                &admin,
                "/api/v1/tenants/kozpont/users",
                json!({"login": login, "full_name": name, "email": format!("{login}@hivatal.hu")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["status"], "pending_activation");
        assert_eq!(b["full_login"], format!("{login}@kozpont"));
    }
    let mail = app.mail_to("nagy.eva@hivatal.hu", 1).await;
    assert!(
        mail.contains("nagy.eva@kozpont") && mail.contains("/activate?token="),
        "{mail}"
    );

    let (_, page) = app
        .get(
            &admin,
            "/api/v1/tenants/kozpont/users?sort=login&per_page=2",
        )
        .await;
    assert_eq!(page["total"], 5);
    let logins: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["abel.zoltan", "admin"]);
    let (_, page) = app
        .get(
            &admin,
            "/api/v1/tenants/kozpont/users?sort=login&per_page=2&page=3",
        )
        .await;
    assert_eq!(page["items"][0]["login"], "toth.bela");
    let (_, page) = app
        .get(
            &admin,
            "/api/v1/tenants/kozpont/users?sort=full_name&order=desc&per_page=1",
        )
        .await;
    assert_eq!(page["items"][0]["login"], "toth.bela");
    let (_, page) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?q=Nagy")
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["full_name"], "Nagy Éva");
    let (_, page) = app.get(&admin, "/api/v1/tenants/kozpont/users?q=%25").await;
    assert_eq!(page["total"], 0, "wildcards in the filter are literal");
    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users/toth.bela/lock",
        json!(null),
    )
    .await;
    let (_, page) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?status=locked")
        .await;
    assert_eq!(page["total"], 1);
    let (s, body) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?sort=password_hash")
        .await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, _) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?page=abc")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The page size is capped by a system variable.
    let (_, page) = app
        .get(&admin, "/api/v1/tenants/kozpont/users?per_page=100000")
        .await;
    assert_eq!(page["per_page"], 100);
}

async fn bad_user_input_is_refused_field_by_field_and_nothing_is_written(app: App) {
    let admin = app.admin().await;
    let cases = [
        (
            json!({"login": "Kovacs.Janos", "full_name": "K J", "email": "k@j.hu"}),
            "login",
        ),
        (
            json!({"login": "kovács.jános", "full_name": "K J", "email": "k@j.hu"}),
            "login",
        ),
        (
            json!({"login": "kovacs..janos", "full_name": "K J", "email": "k@j.hu"}),
            "login",
        ),
        (
            json!({"login": "a".repeat(65), "full_name": "K J", "email": "k@j.hu"}),
            "login",
        ),
        (
            json!({"login": "kovacs.janos", "full_name": "", "email": "k@j.hu"}),
            "full_name",
        ),
        (
            json!({"login": "kovacs.janos", "full_name": "x".repeat(201), "email": "k@j.hu"}),
            "full_name",
        ),
        (
            json!({"login": "kovacs.janos", "full_name": "K J", "email": "nem-email"}),
            "email",
        ),
        (
            json!({"login": "kovacs.janos", "full_name": "K J", "email": format!("{}@j.hu", "a".repeat(300))}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let (s, err) = app
            .send(
                "POST",
                &admin,
                "/api/v1/tenants/kozpont/users",
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(err["error"]["fields"][0]["field"], field, "{err}");
        assert!(
            !err["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    let (_, err) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users",
            json!({"login": "", "full_name": "", "email": ""}),
        )
        .await;
    assert_eq!(
        err["error"]["fields"].as_array().unwrap().len(),
        3,
        "every problem at once"
    );
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/nincsilyen/users",
            json!({"login": "a.b", "full_name": "A B", "email": "a@b.hu"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&admin, "/api/v1/tenants/kozpont/users").await;
    assert_eq!(list["total"], 1);
    assert!(app.outbox().is_empty(), "no mail for refused users");
}

async fn a_login_name_is_unique_fixed_and_never_reused_after_deletion(app: App) {
    let admin = app.admin().await;
    let body =
        json!({"login": "kiss.peter", "full_name": "Kiss Péter", "email": "kiss@hivatal.hu"});
    assert_eq!(
        app.send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users",
            body.clone()
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (s, err) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users",
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::CONFLICT, "conflict"));
    let (s, err) = app
        .send(
            "PATCH",
            &admin,
            "/api/v1/tenants/kozpont/users/kiss.peter",
            json!({"login": "kiss.peter2"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(
        app.send(
            "DELETE",
            &admin,
            "/api/v1/tenants/kozpont/users/kiss.peter",
            json!(null)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (s, _) = app
        .send("POST", &admin, "/api/v1/tenants/kozpont/users", body)
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a deleted user's login name stays taken"
    );
}

async fn a_deleted_user_disappears_and_cannot_log_in(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "torlendo.bela", "Torlendo-Bela1")
        .await;
    let session = app
        .login("torlendo.bela@kozpont", "Torlendo-Bela1", "normal")
        .await;
    let normal = app
        .login("admin@kozpont", crate::harness::ADMIN_PW, "normal")
        .await;
    let (s, err) = app
        .send(
            "DELETE",
            &normal,
            "/api/v1/tenants/kozpont/users/torlendo.bela",
            json!(null),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
    assert_eq!(
        app.send(
            "DELETE",
            &admin,
            "/api/v1/tenants/kozpont/users/torlendo.bela",
            json!(null)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&session, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_raw("torlendo.bela@kozpont", "Torlendo-Bela1", "normal")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&admin, "/api/v1/tenants/kozpont/users/torlendo.bela")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get(&admin, "/api/v1/tenants/kozpont/users").await;
    assert_eq!(list["total"], 1);
    assert_eq!(
        app.send(
            "DELETE",
            &admin,
            "/api/v1/tenants/kozpont/users/torlendo.bela",
            json!(null)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, log) = app
        .get(&admin, "/api/v1/audit?user=torlendo.bela@kozpont")
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "user.delete"),
        "history stays"
    );
}

async fn a_tenant_administrator_cannot_see_or_touch_another_tenant(app: App) {
    let szeged = app.tenant_with_admin("szeged").await;
    let pecs = app.tenant_with_admin("pecs").await;
    app.user(&pecs, "pecs", "pecsi.lakos", "Pecsi-Lakos1").await;
    let probes = [
        ("GET", "/api/v1/tenants/pecs", json!(null)),
        ("GET", "/api/v1/tenants/pecs/users", json!(null)),
        ("GET", "/api/v1/tenants/pecs/users/pecsi.lakos", json!(null)),
        (
            "PATCH",
            "/api/v1/tenants/pecs/users/pecsi.lakos",
            json!({"full_name": "Hacked"}),
        ),
        (
            "POST",
            "/api/v1/tenants/pecs/users/pecsi.lakos/lock",
            json!(null),
        ),
        (
            "POST",
            "/api/v1/tenants/pecs/users/pecsi.lakos/unlock",
            json!(null),
        ),
        (
            "PUT",
            "/api/v1/tenants/pecs/users/pecsi.lakos/password",
            json!({"password": "Hacked-Pass1"}),
        ),
        (
            "DELETE",
            "/api/v1/tenants/pecs/users/pecsi.lakos",
            json!(null),
        ),
        (
            "POST",
            "/api/v1/tenants/pecs/users",
            json!({"login": "beepitett", "full_name": "B", "email": "b@b.hu"}),
        ),
        (
            "PUT",
            "/api/v1/tenants/pecs/settings/session_idle_timeout",
            json!({"value": "5m"}),
        ),
        ("GET", "/api/v1/audit?tenant=pecs", json!(null)),
        ("GET", "/api/v1/audit?user=pecsi.lakos@pecs", json!(null)),
    ];
    for (method, path, body) in probes {
        let (s, err) = app.send(method, &szeged, path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }
    let (_, tenants) = app.get(&szeged, "/api/v1/tenants").await;
    assert_eq!(tenants["total"], 1);
    assert_eq!(tenants["items"][0]["code"], "szeged");
    let (s, err) = app
        .send(
            "POST",
            &szeged,
            "/api/v1/tenants",
            json!({"code": "sajat", "name": "S", "admin": {}}),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::FORBIDDEN, "forbidden"));
    // Nothing changed in Pécs.
    app.login("pecsi.lakos@pecs", "Pecsi-Lakos1", "normal")
        .await;
    let (_, u) = app
        .get(&pecs, "/api/v1/tenants/pecs/users/pecsi.lakos")
        .await;
    assert_eq!(u["full_name"], "Teszt pecsi.lakos");
    // A clerk without administrative roles reads no user list, even in their own tenant.
    let clerk = app
        .login("pecsi.lakos@pecs", "Pecsi-Lakos1", "secure")
        .await;
    let (s, err) = app.get(&clerk, "/api/v1/tenants/pecs/users").await;
    assert_eq!((s, code(&err)), (StatusCode::FORBIDDEN, "forbidden"));
}

async fn an_administrator_changes_user_data_and_sets_a_password(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "valtozo.vera", "Valtozo-Vera1")
        .await;
    let (s, u) = app
        .send(
            "PATCH",
            &admin,
            "/api/v1/tenants/kozpont/users/valtozo.vera",
            json!({"full_name": "Változó Vera", "email": "vera@uj.hu"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (u["full_name"].as_str(), u["email"].as_str()),
        (Some("Változó Vera"), Some("vera@uj.hu"))
    );
    let (s, err) = app
        .send(
            "PATCH",
            &admin,
            "/api/v1/tenants/kozpont/users/valtozo.vera",
            json!({"email": "rossz"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let session = app
        .login("valtozo.vera@kozpont", "Valtozo-Vera1", "normal")
        .await;
    let (s, err) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/kozpont/users/valtozo.vera/password",
            json!({"password": "gyenge"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/kozpont/users/valtozo.vera/password",
            json!({"password": "Admin-Adta-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&session, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "sessions end"
    );
    assert_eq!(
        app.login_raw("valtozo.vera@kozpont", "Valtozo-Vera1", "normal")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let vera = app
        .login("valtozo.vera@kozpont", "Admin-Adta-1", "normal")
        .await;
    // The once-a-day rule: the user changes it only after 24 hours.
    let change = json!({"current_password": "Admin-Adta-1", "new_password": "Sajat-Vera-2"});
    let (s, err) = app
        .send("PUT", &vera, "/api/v1/me/password", change.clone())
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["code"], "password.too_soon");
    app.days(1);
    let vera = app
        .login("valtozo.vera@kozpont", "Admin-Adta-1", "normal")
        .await;
    assert_eq!(
        app.send("PUT", &vera, "/api/v1/me/password", change)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
}
