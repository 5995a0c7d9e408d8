//! Substitutions over HTTP: who may act for whom, in which roles, until when.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::{contract, gazd_service, ids, set_rights};
use crate::both;
use crate::harness::{App, code};

both!(
    a_deputy_acts_for_a_principal_in_the_substituted_roles_only,
    a_substitution_stops_when_it_ends_is_deleted_or_the_principal_loses_the_role,
    a_group_substitution_carries_the_groups_qualifying_roles,
    another_tenants_access_objects_are_invisible,
);

/// Tenant `tata`: principal `fo.nok` holds gazd.konyvelo and kapu.log_reader; deputy
/// `hely.ettes` holds kapu.log_reader.
pub(crate) async fn substitution_setup(app: &App) -> String {
    let admin = gazd_service(app).await;
    let tata = app.tenant_with_admin("tata").await;
    contract(app, &admin, "tata", json!(["gazd"])).await;
    app.user(&tata, "tata", "fo.nok", "Fo-Nok-12345").await;
    app.user(&tata, "tata", "hely.ettes", "Hely-Ettes-12").await;
    set_rights(
        app,
        &tata,
        "tata",
        "fo.nok",
        json!({"roles": ["gazd.konyvelo", "kapu.log_reader"]}),
    )
    .await;
    set_rights(
        app,
        &tata,
        "tata",
        "hely.ettes",
        json!({"roles": ["kapu.log_reader"]}),
    )
    .await;
    tata
}

pub(crate) async fn substitute(app: &App, token: &str, body: Value) -> (StatusCode, Value) {
    app.send("POST", token, "/api/v1/tenants/tata/substitutions", body)
        .await
}

async fn a_deputy_acts_for_a_principal_in_the_substituted_roles_only(app: App) {
    let tata = substitution_setup(&app).await;
    let base = json!({"deputy": "hely.ettes", "principal": "fo.nok"});
    for (roles, why) in [
        (json!(["gazd.penztaros"]), "the principal lacks it"),
        (json!(["kapu.log_reader"]), "the deputy has it already"),
        (json!([]), "no roles"),
    ] {
        let mut body = base.clone();
        body["roles"] = roles;
        let (s, err) = substitute(&app, &tata, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert_eq!(err["error"]["fields"][0]["field"], "roles");
    }
    let (s, _) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "hely.ettes", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = substitute(&app, &tata, json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"], "starts_at": "2030-01-02", "ends_at": "2030-01-01"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let normal = app.login("fo.admin@tata", "Tenant-Admin1", "normal").await;
    let (s, err) = substitute(
        &app,
        &normal,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );

    let (s, sub) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["active"], true);
    assert!(sub["ends_at"].is_null(), "open-ended");

    let (_, choices) = app
        .get(
            &app.login("hely.ettes@tata", "Hely-Ettes-12", "normal")
                .await,
            "/api/v1/me/identity-choices",
        )
        .await;
    assert_eq!(choices["items"][0]["login"], "fo.nok");
    let token = app
        .login_acting("hely.ettes@tata", "Hely-Ettes-12", "normal", "fo.nok@tata")
        .await;
    let (_, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(me["login"], "fo.nok@tata");
    assert_eq!(me["deputy"]["login"], "hely.ettes@tata");
    assert_eq!(
        ids(&me["roles"]),
        ["gazd.konyvelo"],
        "exactly the substituted roles"
    );
    let (s, _) = app.get(&token, "/api/v1/audit").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "not the deputy's own log-reader role"
    );
    let (s, _) = app
        .send(
            "PUT",
            &token,
            "/api/v1/me/password",
            json!({"current_password": "Hely-Ettes-12", "new_password": "Uj-Jelszo-123"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "never the principal's password");
    app.send("DELETE", &token, "/api/v1/session", json!(null))
        .await;
    let (_, log) = app.get(&tata, "/api/v1/audit?per_page=100").await;
    let logout = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "logout")
        .unwrap();
    assert_eq!(
        (logout["actor"].as_str(), logout["on_behalf_of"].as_str()),
        (Some("hely.ettes@tata"), Some("fo.nok@tata"))
    );

    // Acting for someone with no substitution is refused.
    let r = app.login_raw("fo.nok@tata", "Fo-Nok-12345", "normal").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, err) = app
        .send(
            "POST",
            "",
            "/api/v1/session",
            json!({"login": "fo.nok@tata", "password": "Fo-Nok-12345", "act_for": "hely.ettes"}),
        )
        .await;
    assert_eq!(
        (s, err["error"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("act_for"))
    );

    // Profiles: whom I act for, and who acts for me.
    let principal = app.login("fo.nok@tata", "Fo-Nok-12345", "normal").await;
    let (_, mine) = app.get(&principal, "/api/v1/me/substitutions").await;
    assert_eq!(mine["my_deputies"][0]["deputy"], "hely.ettes@tata");
    assert!(mine["i_act_for"].as_array().unwrap().is_empty());
    let (_, list) = app
        .get(
            &tata,
            "/api/v1/tenants/tata/substitutions?deputy=hely.ettes",
        )
        .await;
    assert_eq!(list["total"], 1);
}

async fn a_substitution_stops_when_it_ends_is_deleted_or_the_principal_loses_the_role(app: App) {
    let tata = substitution_setup(&app).await;
    let acting = |app: &App| {
        let http = app.http.clone();
        let url = app.url("/api/v1/session");
        async move {
            let r = http
                .post(url)
                .json(&json!({"login": "hely.ettes@tata", "password": "Hely-Ettes-12", "act_for": "fo.nok"}))
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.json::<Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        }
    };
    // Ends in two hours.
    let end = chrono_in(&app, 2 * 3_600_000);
    let (s, sub) = substitute(&app, &tata, json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"], "ends_at": end})).await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let (_, token) = acting(&app).await;
    assert_eq!(app.get(&token, "/api/v1/me").await.0, StatusCode::OK);
    app.minutes(121);
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "ended"
    );
    assert_eq!(acting(&app).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let tata = app.login("fo.admin@tata", "Tenant-Admin1", "secure").await;
    let (_, sub) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    let (_, token) = acting(&app).await;
    let id = sub["id"].as_str().unwrap();
    assert_eq!(
        app.send(
            "DELETE",
            &tata,
            &format!("/api/v1/tenants/tata/substitutions/{id}"),
            json!(null)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "deleted"
    );

    substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    let (_, token) = acting(&app).await;
    set_rights(
        &app,
        &tata,
        "tata",
        "fo.nok",
        json!({"roles": ["kapu.log_reader"]}),
    )
    .await;
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "the principal lost the role"
    );
}

fn chrono_in(app: &App, ms: i64) -> String {
    kapu_core::platform::time_fmt::rfc3339(app.kapu.now() + ms)
}

async fn a_group_substitution_carries_the_groups_qualifying_roles(app: App) {
    let tata = substitution_setup(&app).await;
    app.send("POST", &tata, "/api/v1/tenants/tata/groups", json!({"code": "vezetok", "name": "Vezetők", "roles": ["gazd.konyvelo", "kapu.log_reader", "gazd.penztaros"]}))
        .await;
    let (s, sub) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "group": "vezetok"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["group"], "vezetok");
    assert_eq!(
        ids(&sub["roles"]),
        ["gazd.konyvelo"],
        "held by the principal, lacked by the deputy"
    );
    let (s, err) = substitute(
        &app,
        &tata,
        json!({"deputy": "fo.nok", "principal": "hely.ettes", "group": "vezetok"}),
    )
    .await;
    assert_eq!(
        (s, err["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("substitution.group_no_roles")
        )
    );
    let (s, _) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "group": "nincs"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn another_tenants_access_objects_are_invisible(app: App) {
    let tata = substitution_setup(&app).await;
    let (_, sub) = substitute(
        &app,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    app.send(
        "POST",
        &tata,
        "/api/v1/tenants/tata/groups",
        json!({"code": "csoport", "name": "Csoport"}),
    )
    .await;
    let id = sub["id"].as_str().unwrap();
    let other = app.tenant_with_admin("mako").await;
    let probes = [
        (
            "GET",
            "/api/v1/tenants/tata/services".to_string(),
            json!(null),
        ),
        ("GET", "/api/v1/tenants/tata/roles".to_string(), json!(null)),
        (
            "GET",
            "/api/v1/tenants/tata/groups".to_string(),
            json!(null),
        ),
        (
            "POST",
            "/api/v1/tenants/tata/groups".to_string(),
            json!({"code": "betores", "name": "B"}),
        ),
        (
            "GET",
            "/api/v1/tenants/tata/groups/csoport".to_string(),
            json!(null),
        ),
        (
            "PATCH",
            "/api/v1/tenants/tata/groups/csoport".to_string(),
            json!({"name": "B"}),
        ),
        (
            "DELETE",
            "/api/v1/tenants/tata/groups/csoport".to_string(),
            json!(null),
        ),
        (
            "GET",
            "/api/v1/tenants/tata/users/fo.nok/rights".to_string(),
            json!(null),
        ),
        (
            "PUT",
            "/api/v1/tenants/tata/users/fo.nok/rights".to_string(),
            json!({"roles": []}),
        ),
        (
            "GET",
            "/api/v1/tenants/tata/substitutions".to_string(),
            json!(null),
        ),
        (
            "POST",
            "/api/v1/tenants/tata/substitutions".to_string(),
            json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
        ),
        (
            "GET",
            format!("/api/v1/tenants/tata/substitutions/{id}"),
            json!(null),
        ),
        (
            "PATCH",
            format!("/api/v1/tenants/tata/substitutions/{id}"),
            json!({"ends_at": null}),
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/tata/substitutions/{id}"),
            json!(null),
        ),
        (
            "GET",
            format!("/api/v1/tenants/mako/substitutions/{id}"),
            json!(null),
        ),
    ];
    for (method, path, body) in probes {
        let (s, err) = app.send(method, &other, &path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }
    let (s, sub) = app
        .get(&tata, &format!("/api/v1/tenants/tata/substitutions/{id}"))
        .await;
    assert_eq!(
        (s, sub["active"].as_bool()),
        (StatusCode::OK, Some(true)),
        "untouched"
    );
}
