use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{App, code};

both!(
    central_administrators_create_list_and_rename_tenants,
    every_text_filter_ignores_accents_and_case,
);

async fn every_text_filter_ignores_accents_and_case(app: App) {
    let admin = app.admin().await;
    let body = json!({"code": "bpfovaros", "name": "Budapest Főváros Önkormányzata",
                      "admin": {"login": "fo.admin", "full_name": "Fő Admin", "email": "ÁRVÍZ.Tűrő@Fovaros.example"}});
    let (s, b) = app.send("POST", &admin, "/api/v1/tenants", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for q in ["fovaros", "F%C5%90V%C3%81ROS", "onkormanyzata"] {
        let (_, list) = app.get(&admin, &format!("/api/v1/tenants?q={q}")).await;
        assert_eq!(list["total"], 1, "tenant name by {q}: {list}");
    }
    for q in ["arviz.turo", "%C3%81RV%C3%8DZ", "T%C5%B0R%C5%90%40fovaros"] {
        let (_, list) = app
            .get(&admin, &format!("/api/v1/tenants/bpfovaros/users?q={q}"))
            .await;
        assert_eq!(list["total"], 1, "e-mail by {q}: {list}");
    }
    let (_, roles) = app
        .get(&admin, "/api/v1/roles?q=FELHASZNALO%20KARBANTARTO")
        .await;
    assert_eq!(roles["items"][0]["id"], "kapu.user_maintainer", "{roles}");
    let (_, services) = app.get(&admin, "/api/v1/services?q=KERETRENDSZER").await;
    assert_eq!(services["total"], 1, "{services}");
}

async fn central_administrators_create_list_and_rename_tenants(app: App) {
    let admin = app.admin().await;
    let body = json!({"code": "debrecen", "name": "Debrecen Megyei Jogú Város",
                      "admin": {"login": "fo.admin", "full_name": "Fő Admin", "email": "fo@debrecen.hu"}});
    let (s, created) = app
        .send("POST", &admin, "/api/v1/tenants", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["tenant"]["code"], "debrecen");
    let roles: Vec<&str> = created["admin"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "kapu.user_maintainer",
            "kapu.log_reader",
            "kapu.framework_admin"
        ]
    );
    assert!(
        app.mail_to("fo@debrecen.hu", 1)
            .await
            .contains("fo.admin@debrecen")
    );
    let (s, err) = app.send("POST", &admin, "/api/v1/tenants", body).await;
    assert_eq!((s, code(&err)), (StatusCode::CONFLICT, "conflict"));

    for (bad, field) in [
        ("Debrecen", "code"),
        ("győr", "code"),
        ("a", "code"),
        ("szeged-2", "code"),
    ] {
        let (s, err) = app
            .send("POST", &admin, "/api/v1/tenants", json!({"code": bad, "name": "X", "admin": {"login": "a.b", "full_name": "A", "email": "a@b.hu"}}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(err["error"]["fields"][0]["field"], field);
    }
    let (s, err) = app
        .send("POST", &admin, "/api/v1/tenants", json!({"code": "eger", "name": "", "admin": {"login": "Rossz", "full_name": "", "email": "x"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = err["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "admin_login", "admin_full_name", "admin_email"]
    );
    assert_eq!(
        app.get(&admin, "/api/v1/tenants/eger").await.0,
        StatusCode::NOT_FOUND,
        "nothing half-written"
    );

    let (_, list) = app.get(&admin, "/api/v1/tenants?sort=code").await;
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["debrecen", "kozpont", "ugyfelkapu"]);
    let (_, list) = app.get(&admin, "/api/v1/tenants?q=megyei").await;
    assert_eq!(list["total"], 1);

    let (s, t) = app
        .send(
            "PATCH",
            &admin,
            "/api/v1/tenants/debrecen",
            json!({"name": "Debrecen"}),
        )
        .await;
    assert_eq!((s, t["name"].as_str()), (StatusCode::OK, Some("Debrecen")));
    let (s, _) = app
        .send(
            "PATCH",
            &admin,
            "/api/v1/tenants/debrecen",
            json!({"name": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let normal = app
        .login("admin@kozpont", crate::harness::ADMIN_PW, "normal")
        .await;
    let (s, err) = app
        .send(
            "PATCH",
            &normal,
            "/api/v1/tenants/debrecen",
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );
}
