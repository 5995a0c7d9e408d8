use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};

both!(
    only_roles_of_contracted_services_can_be_granted_and_count,
    group_roles_reach_members_and_revocations_apply_to_open_sessions,
    a_tenant_keeps_its_last_user_maintainer,
    rights_administrators_change_rights_but_not_user_data,
    lists_export_as_csv_with_accented_names,
);

pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// A service `gazd` with two roles, created by the central administrator.
pub async fn gazd_service(app: &App) -> String {
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

pub async fn contract(app: &App, admin: &str, tenant: &str, services: Value) {
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

pub async fn set_rights(
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
            json!({"code": "sajat", "name": "S", "launch_url": "https://sajat.example.hu/"}),
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
