use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::{ADMIN, App, code};

both!(
    every_login_and_change_is_recorded_and_queryable,
    tenant_log_readers_see_only_their_own_tenant,
    the_audit_chain_detects_tampering,
);

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
