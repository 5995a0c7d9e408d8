use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{App, code};

both!(
    system_variables_are_typed_listed_and_changed_by_the_centre,
    tenants_override_only_overridable_variables_until_the_centre_changes_them,
);

async fn system_variables_are_typed_listed_and_changed_by_the_centre(app: App) {
    let admin = app.admin().await;
    let (s, list) = app.get(&admin, "/api/v1/settings").await;
    assert_eq!(s, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    let find = |name: &str| items.iter().find(|i| i["name"] == name).unwrap().clone();
    let max_age = find("password_max_age_days");
    assert_eq!(
        (
            max_age["kind"].as_str(),
            max_age["effective_value"].as_str()
        ),
        (Some("number"), Some("120"))
    );
    assert_eq!(find("lockout_duration")["kind"], "duration");
    assert_eq!(find("password_require_digit")["kind"], "bool");
    assert_eq!(find("system_notice_until")["kind"], "date");
    assert_eq!(find("session_idle_timeout")["overridable"], true);
    assert!(
        !find("password_min_length")["display_hu"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    for (name, bad) in [
        ("password_min_length", json!("nyolc")),
        ("password_min_length", json!(0)),
        ("lockout_duration", json!("10")),
        ("password_require_digit", json!("talán")),
        ("system_notice_until", json!("2026-02-30")),
    ] {
        let (s, err) = app
            .send(
                "PUT",
                &admin,
                &format!("/api/v1/settings/{name}"),
                json!({"value": bad}),
            )
            .await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{name}={bad}"
        );
    }
    assert_eq!(
        app.send(
            "PUT",
            &admin,
            "/api/v1/settings/nincs_ilyen",
            json!({"value": 1})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/system_notice_until",
            json!({"value": "2026-12-31"}),
        )
        .await;
    assert_eq!(
        (s, v["global_value"].as_str()),
        (StatusCode::OK, Some("2026-12-31"))
    );

    // The password rules read their numbers from here.
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/password_min_length",
            json!({"value": 12}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, err) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/kozpont/users/admin/password",
            json!({"password": "Rovid-Jel1"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["code"], "password.too_short");

    let normal = app
        .login("admin@kozpont", crate::harness::ADMIN_PW, "normal")
        .await;
    let (s, err) = app
        .send(
            "PUT",
            &normal,
            "/api/v1/settings/lockout_threshold",
            json!({"value": 3}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
    let (_, log) = app.get(&admin, "/api/v1/audit").await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "setting.set_global" && r["target"] == "password_min_length")
    );
}

async fn tenants_override_only_overridable_variables_until_the_centre_changes_them(app: App) {
    let admin = app.admin().await;
    let gyor = app.tenant_with_admin("gyor").await;
    let (s, v) = app
        .send(
            "PUT",
            &gyor,
            "/api/v1/tenants/gyor/settings/session_idle_timeout",
            json!({"value": "15m"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["tenant_value"].as_str(), v["effective_value"].as_str()),
        (Some("15m"), Some("15m"))
    );
    let (s, err) = app
        .send(
            "PUT",
            &gyor,
            "/api/v1/tenants/gyor/settings/lockout_threshold",
            json!({"value": 9}),
        )
        .await;
    assert_eq!(
        (s, err["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("setting.not_overridable")
        )
    );
    let (s, err) = app
        .send(
            "PUT",
            &gyor,
            "/api/v1/settings/session_idle_timeout",
            json!({"value": "5m"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "a tenant cannot change the central value"
    );

    // The tenant value rules the tenant's sessions: idle after 15 minutes.
    app.user(&gyor, "gyor", "gyori.gabor", "Gyori-Gabor1").await;
    let clerk = app
        .login("gyori.gabor@gyor", "Gyori-Gabor1", "normal")
        .await;
    app.minutes(16);
    assert_eq!(
        app.get(&clerk, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    // A central change overwrites the tenant's value (manual 11.3).
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/session_idle_timeout",
            json!({"value": "45m"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let gyor = app.login("fo.admin@gyor", "Tenant-Admin1", "secure").await;
    let (_, v) = app
        .get(&gyor, "/api/v1/settings/session_idle_timeout")
        .await;
    assert_eq!(
        (v["tenant_value"].as_str(), v["effective_value"].as_str()),
        (Some("45m"), Some("45m"))
    );
    let (s, v) = app
        .send(
            "DELETE",
            &gyor,
            "/api/v1/tenants/gyor/settings/session_idle_timeout",
            json!(null),
        )
        .await;
    assert_eq!((s, v["tenant_value"].is_null()), (StatusCode::OK, true));
}
