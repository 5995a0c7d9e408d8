use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{ADMIN, App, code};

both!(
    every_login_and_change_is_recorded_and_queryable,
    tenant_log_readers_see_only_their_own_tenant,
    the_audit_chain_detects_tampering,
    the_log_is_filtered_by_kind_outcome_event_and_actor_and_exported,
    refused_administrative_writes_are_recorded_as_denied,
);

async fn the_log_is_filtered_by_kind_outcome_event_and_actor_and_exported(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "naplo.nandi", "Naplo-Nandi-1")
        .await;
    app.login_raw("naplo.nandi@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    let get = |q: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (s, b) = app
                .get(&admin, &format!("/api/v1/audit?per_page=100&{q}"))
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            b["items"].as_array().unwrap().clone()
        }
    };
    let logins = get("kind=login").await;
    assert!(!logins.is_empty());
    assert!(
        logins
            .iter()
            .all(|r| r["kind"] == "login" && r["action"].as_str().unwrap().starts_with("log"))
    );
    let mails = get("kind=communication").await;
    assert!(!mails.is_empty());
    assert!(
        mails
            .iter()
            .all(|r| r["action"] == "mail.send" && r["kind"] == "communication")
    );
    let central = get("kind=central").await;
    assert!(central.iter().any(|r| r["action"] == "user.create"));
    assert!(central.iter().all(|r| r["kind"] == "central"));
    let wrong = get("outcome=wrong_password").await;
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0]["target"], "naplo.nandi@kozpont");
    let created = get("action=user.create&actor=admin%40kozpont").await;
    assert!(
        created
            .iter()
            .all(|r| r["action"] == "user.create" && r["actor"] == ADMIN)
    );
    assert!(!created.is_empty());
    let (s, b) = app.get(&admin, "/api/v1/audit?kind=everything").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // CSV like every other list: visible columns, and every recorded field.
    for (query, header) in [
        ("", "Időpont,Napló fajtája"),
        ("&detailed=1", "seq,at,kind"),
    ] {
        let csv = app
            .csv(
                &admin,
                &format!("/api/v1/audit?format=csv&kind=login{query}"),
            )
            .await;
        assert!(
            csv.trim_start_matches('\u{feff}').starts_with(header),
            "{csv}"
        );
        assert!(csv.contains("naplo.nandi@kozpont"));
        assert!(!csv.contains("user.create"));
    }
}

async fn refused_administrative_writes_are_recorded_as_denied(app: App) {
    let admin = app.admin().await;
    let szeged = app.tenant_with_admin("szeged").await;
    // Another tenant's user (404) and a central-only write (403).
    let (s, _) = app
        .send(
            "POST",
            &szeged,
            "/api/v1/tenants/kozpont/users/admin/lock",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .send(
            "POST",
            &szeged,
            "/api/v1/tenants",
            json!({"code": "x", "name": "x", "admin": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Reads that find nothing are not writes.
    app.get(&szeged, "/api/v1/tenants/kozpont/users/admin")
        .await;
    let (_, b) = app.get(&admin, "/api/v1/audit?outcome=denied").await;
    let denied = b["items"].as_array().unwrap();
    assert_eq!(denied.len(), 2, "{b}");
    assert!(denied.iter().all(|r| r["actor"] == "fo.admin@szeged"
        && r["action"] == "request.denied"
        && r["kind"] == "central"));
    let targets: Vec<&str> = denied
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert!(targets.contains(&"POST /api/v1/tenants/kozpont/users/admin/lock"));
    assert!(targets.contains(&"POST /api/v1/tenants"));
}

async fn every_login_and_change_is_recorded_and_queryable(app: App) {
    app.login_raw(ADMIN, "Rossz-Jelszo1", "normal").await;
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "naplo.nora", "Naplo-Nora-1")
        .await;
    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users/naplo.nora/lock",
        json!(null),
    )
    .await;
    app.login_raw("naplo.nora@kozpont", "Naplo-Nora-1", "normal")
        .await;
    app.send("DELETE", &admin, "/api/v1/session", json!(null))
        .await;
    let admin = app.admin().await;

    let (s, log) = app.get(&admin, "/api/v1/audit?per_page=100").await;
    assert_eq!(s, StatusCode::OK);
    let items = log["items"].as_array().unwrap();
    let has = |action: &str, outcome: &str| {
        items
            .iter()
            .any(|r| r["action"] == action && r["outcome"] == outcome)
    };
    for (action, outcome) in [
        ("login", "wrong_password"),
        ("login", "success"),
        ("login", "locked"),
        ("user.create", "success"),
        ("user.activate", "success"),
        ("user.lock", "success"),
        ("logout", "success"),
        ("mail.send", "success"),
    ] {
        assert!(has(action, outcome), "{action}/{outcome} missing");
    }
    let create = items.iter().find(|r| r["action"] == "user.create").unwrap();
    assert_eq!(create["actor"], "admin@kozpont");
    assert_eq!(create["target"], "naplo.nora@kozpont");
    assert_eq!(create["tenant"], "kozpont");
    assert_eq!(create["client_addr"], "127.0.0.1");
    assert!(create["request_id"].as_str().is_some_and(|r| !r.is_empty()));

    let (_, mine) = app
        .get(&admin, "/api/v1/audit?user=naplo.nora@kozpont&per_page=100")
        .await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["target"] == "naplo.nora@kozpont" || r["actor"] == "naplo.nora@kozpont")
    );
    let (_, future) = app.get(&admin, "/api/v1/audit?from=2999-01-01").await;
    assert_eq!(future["total"], 0);
    let (_, past) = app.get(&admin, "/api/v1/audit?to=2000-01-01").await;
    assert_eq!(past["total"], 0);
    let (s, err) = app.get(&admin, "/api/v1/audit?from=tegnap").await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

async fn tenant_log_readers_see_only_their_own_tenant(app: App) {
    let vac = app.tenant_with_admin("vac").await;
    let _tata = app.tenant_with_admin("tata").await;
    let (s, log) = app.get(&vac, "/api/v1/audit?per_page=100").await;
    assert_eq!(s, StatusCode::OK);
    let items = log["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|r| r["tenant"] == "vac"), "{log}");
    let (s, _) = app.get(&vac, "/api/v1/audit?tenant=tata").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&vac, "/api/v1/audit?tenant=kozpont").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The central administrator sees every tenant.
    let admin = app.admin().await;
    let (_, all) = app.get(&admin, "/api/v1/audit?per_page=100").await;
    let tenants: std::collections::HashSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["tenant"].as_str())
        .collect();
    assert!(tenants.contains("vac") && tenants.contains("tata") && tenants.contains("kozpont"));
    // A clerk without the log-reader role reads nothing.
    app.user(&vac, "vac", "vaci.ugyintezo", "Vaci-Ugyint1")
        .await;
    let clerk = app
        .login("vaci.ugyintezo@vac", "Vaci-Ugyint1", "normal")
        .await;
    let (s, err) = app.get(&clerk, "/api/v1/audit").await;
    assert_eq!((s, code(&err)), (StatusCode::FORBIDDEN, "forbidden"));
}

async fn the_audit_chain_detects_tampering(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "lanc.laszlo", "Lanc-Laszlo1")
        .await;
    match app.kapu.verify_audit_chain().await.unwrap() {
        kapu_core::platform::audit::ChainCheck::Intact { records } => assert!(records >= 4),
        broken => panic!("{broken:?}"),
    }
    sqlx::query("UPDATE audit_log SET outcome = 'failure' WHERE action = 'user.create'")
        .execute(app.kapu.db().pool())
        .await
        .unwrap();
    assert!(matches!(
        app.kapu.verify_audit_chain().await.unwrap(),
        kapu_core::platform::audit::ChainCheck::Broken {
            reason: "record was altered",
            ..
        }
    ));
}
