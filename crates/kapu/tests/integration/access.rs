use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};

both!(
    only_roles_of_contracted_services_can_be_granted_and_count,
    group_roles_reach_members_and_revocations_apply_to_open_sessions,
    a_tenant_keeps_its_last_user_maintainer,
    rights_administrators_change_rights_but_not_user_data,
    a_deputy_acts_for_a_principal_in_the_substituted_roles_only,
    a_substitution_stops_when_it_ends_is_deleted_or_the_principal_loses_the_role,
    a_group_substitution_carries_the_groups_qualifying_roles,
    another_tenants_access_objects_are_invisible,
    lists_export_as_csv_with_accented_names,
);

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// A service `gazd` with two roles, created by the central administrator.
async fn gazd_service(app: &App) -> String {
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services",
            json!({"code": "gazd", "name": "Gazdálkodás", "launch_url": "https://gazd.example.hu/",
                   "roles": [{"code": "konyvelo", "name": "Könyvelő", "description": "Könyvel"},
                             {"code": "penztaros", "name": "Pénztáros", "description": "Pénzt kezel"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    admin
}

async fn contract(app: &App, admin: &str, tenant: &str, services: Value) {
    let (s, b) = app
        .send(
            "PUT",
            admin,
            &format!("/api/v1/tenants/{tenant}/services"),
            json!({"services": services}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn set_rights(
    app: &App,
    token: &str,
    tenant: &str,
    login: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.send(
        "PUT",
        token,
        &format!("/api/v1/tenants/{tenant}/users/{login}/rights"),
        body,
    )
    .await
}

async fn only_roles_of_contracted_services_can_be_granted_and_count(app: App) {
    let admin = gazd_service(&app).await;
    let szeged = app.tenant_with_admin("szeged").await;
    app.user(&szeged, "szeged", "konyv.elo", "Konyv-Elo-12")
        .await;
    let (s, err) = set_rights(
        &app,
        &szeged,
        "szeged",
        "konyv.elo",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["code"], "role.not_contracted");
    let (s, err) = set_rights(
        &app,
        &szeged,
        "szeged",
        "konyv.elo",
        json!({"roles": ["nincs.ilyen"]}),
    )
    .await;
    assert_eq!(
        (s, err["error"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role.unknown"))
    );
    // Only the centre registers services and signs contracts.
    let (s, _) = app
        .send(
            "POST",
            &szeged,
            "/api/v1/services",
            json!({"code": "sajat", "name": "S", "launch_url": "/"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .send(
            "PUT",
            &szeged,
            "/api/v1/tenants/szeged/services",
            json!({"services": ["gazd"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    contract(&app, &admin, "szeged", json!(["gazd"])).await;
    let (_, grantable) = app.get(&szeged, "/api/v1/tenants/szeged/roles").await;
    assert!(
        grantable["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "gazd.konyvelo")
    );
    let (s, rights) = set_rights(
        &app,
        &szeged,
        "szeged",
        "konyv.elo",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rights}");
    let clerk = app
        .login("konyv.elo@szeged", "Konyv-Elo-12", "normal")
        .await;
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo"]);

    // Out of the contract: the role stops at once, the grant is kept.
    contract(&app, &admin, "szeged", json!([])).await;
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert!(ids(&me["roles"]).is_empty());
    let (_, rights) = app
        .get(&szeged, "/api/v1/tenants/szeged/users/konyv.elo/rights")
        .await;
    assert_eq!(ids(&rights["individual"]), ["gazd.konyvelo"]);
    assert!(rights["effective"].as_array().unwrap().is_empty());
    contract(&app, &admin, "szeged", json!(["gazd"])).await;
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert_eq!(
        ids(&me["roles"]),
        ["gazd.konyvelo"],
        "back with the contract"
    );
}

async fn group_roles_reach_members_and_revocations_apply_to_open_sessions(app: App) {
    let admin = gazd_service(&app).await;
    let pecs = app.tenant_with_admin("pecs").await;
    contract(&app, &admin, "pecs", json!(["gazd"])).await;
    app.user(&pecs, "pecs", "tag.tamas", "Tag-Tamas-12").await;
    let (s, g) = app
        .send("POST", &pecs, "/api/v1/tenants/pecs/groups", json!({"code": "penzugy", "name": "Pénzügy", "members": ["tag.tamas"], "roles": ["gazd.konyvelo", "gazd.penztaros"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    for (body, field) in [
        (json!({"code": "pénz ügy", "name": "X"}), "code"),
        (json!({"code": "ok_code", "name": ""}), "name"),
        (
            json!({"code": "ok_code", "name": "X", "members": ["nincs.ilyen"]}),
            "members",
        ),
        (
            json!({"code": "ok_code", "name": "X", "roles": ["kapu.nincs"]}),
            "roles",
        ),
    ] {
        let (s, err) = app
            .send("POST", &pecs, "/api/v1/tenants/pecs/groups", body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(err["error"]["fields"][0]["field"], field);
    }
    let (s, _) = app
        .send(
            "POST",
            &pecs,
            "/api/v1/tenants/pecs/groups",
            json!({"code": "penzugy", "name": "Másik"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let clerk = app.login("tag.tamas@pecs", "Tag-Tamas-12", "normal").await;
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo", "gazd.penztaros"]);
    let (_, mine) = app.get(&clerk, "/api/v1/me/roles").await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source"]["kind"] == "group" && r["source"]["group"] == "penzugy")
    );

    // A revocation works on the next request of an open session…
    let (s, _) = app
        .send(
            "PATCH",
            &pecs,
            "/api/v1/tenants/pecs/groups/penzugy",
            json!({"roles": ["gazd.konyvelo"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo"]);
    // …a new grant waits for the next login.
    set_rights(
        &app,
        &pecs,
        "pecs",
        "tag.tamas",
        json!({"roles": ["kapu.log_reader"]}),
    )
    .await;
    let (_, me) = app.get(&clerk, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo"]);
    let fresh = app.login("tag.tamas@pecs", "Tag-Tamas-12", "normal").await;
    let (_, me) = app.get(&fresh, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo", "kapu.log_reader"]);
    // Leaving the group takes its roles away.
    set_rights(&app, &pecs, "pecs", "tag.tamas", json!({"groups": []})).await;
    let (_, me) = app.get(&fresh, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["kapu.log_reader"]);
    assert_eq!(
        app.send(
            "DELETE",
            &pecs,
            "/api/v1/tenants/pecs/groups/penzugy",
            json!(null)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&pecs, "/api/v1/tenants/pecs/groups/penzugy")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn a_tenant_keeps_its_last_user_maintainer(app: App) {
    let admin = app.admin().await;
    let eger = app.tenant_with_admin("eger").await;
    for (method, path, body) in [
        (
            "POST",
            "/api/v1/tenants/eger/users/fo.admin/lock",
            json!(null),
        ),
        ("DELETE", "/api/v1/tenants/eger/users/fo.admin", json!(null)),
        (
            "PUT",
            "/api/v1/tenants/eger/users/fo.admin/rights",
            json!({"roles": ["kapu.log_reader"]}),
        ),
    ] {
        let (s, err) = app.send(method, &admin, path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::CONFLICT, "conflict"),
            "{method} {path}"
        );
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("karbantartó")
        );
    }
    let (_, me) = app.get(&eger, "/api/v1/me").await;
    assert!(
        ids(&me["roles"]).contains(&"kapu.user_maintainer".to_string()),
        "nothing changed"
    );
    // Through a group the role counts too.
    app.user(&eger, "eger", "masik.admin", "Masik-Admin12")
        .await;
    app.send("POST", &eger, "/api/v1/tenants/eger/groups", json!({"code": "adminok", "name": "Adminok", "members": ["masik.admin"], "roles": ["kapu.user_maintainer"]}))
        .await;
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/eger/users/fo.admin/lock",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .send(
            "DELETE",
            &admin,
            "/api/v1/tenants/eger/groups/adminok",
            json!(null),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the group holds the last maintainer now"
    );
}

async fn rights_administrators_change_rights_but_not_user_data(app: App) {
    let vac = app.tenant_with_admin("vac").await;
    app.user(&vac, "vac", "jog.admin", "Jog-Admin-123").await;
    app.user(&vac, "vac", "ugy.intezo", "Ugy-Intezo-12").await;
    set_rights(
        &app,
        &vac,
        "vac",
        "jog.admin",
        json!({"roles": ["kapu.rights_admin"]}),
    )
    .await;
    let rights_admin = app.login("jog.admin@vac", "Jog-Admin-123", "secure").await;
    let (s, _) = set_rights(
        &app,
        &rights_admin,
        "vac",
        "ugy.intezo",
        json!({"roles": ["kapu.log_reader"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, err) = app
        .send(
            "PATCH",
            &rights_admin,
            "/api/v1/tenants/vac/users/ugy.intezo",
            json!({"full_name": "Más Név"}),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = app
        .send(
            "POST",
            &rights_admin,
            "/api/v1/tenants/vac/users",
            json!({"login": "uj.ember", "full_name": "Új", "email": "u@x.hu"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .send(
            "POST",
            &rights_admin,
            "/api/v1/tenants/vac/users/ugy.intezo/lock",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let normal = app.login("jog.admin@vac", "Jog-Admin-123", "normal").await;
    let (s, err) = set_rights(&app, &normal, "vac", "ugy.intezo", json!({"roles": []})).await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
}

/// Tenant `tata`: principal `fo.nok` holds gazd.konyvelo and kapu.log_reader; deputy
/// `hely.ettes` holds kapu.log_reader.
async fn substitution_setup(app: &App) -> String {
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

async fn substitute(app: &App, token: &str, body: Value) -> (StatusCode, Value) {
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
    let r = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"login": "hely.ettes@tata", "password": "Hely-Ettes-12", "act_for": "fo.nok@tata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
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

async fn lists_export_as_csv_with_accented_names(app: App) {
    let admin = app.admin().await;
    app.send("POST", &admin, "/api/v1/tenants/kozpont/users", json!({"login": "arvizturo.tukorfurogep", "full_name": "Árvíztűrő Tükörfúrógép", "email": "a@x.hu"}))
        .await;
    let r = app
        .http
        .get(app.url("/api/v1/tenants/kozpont/users?format=csv"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("users.csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("Bejelentkezési név,Teljes név,E-mail cím,Állapot"));
    assert!(text.contains("Árvíztűrő Tükörfúrógép"));
    let r = app
        .http
        .get(app.url("/api/v1/tenants/kozpont/users?format=csv&detailed=1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.trim_start_matches('\u{feff}')
            .starts_with("id,tenant,login,full_login")
    );
    for path in [
        "/api/v1/tenants?format=csv",
        "/api/v1/services?format=csv",
        "/api/v1/roles?format=csv&detailed=1",
        "/api/v1/tenants/kozpont/groups?format=csv",
        "/api/v1/tenants/kozpont/substitutions?format=csv",
    ] {
        let r = app
            .http
            .get(app.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.text().await.unwrap().starts_with('\u{feff}'), "{path}");
    }
}
