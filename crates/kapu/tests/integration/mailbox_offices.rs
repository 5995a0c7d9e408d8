//! Office mailboxes: the directory, the rights that open them, and who may keep them.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::App;
use crate::mailbox::{citizen, form, office, post_form, town};

async fn mailbox_rights_come_from_roles_and_others_get_404(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (_, sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("a.pdf", b"a")]),
        None,
    )
    .await;
    let id = sent["message"]["id"].as_str().unwrap();
    // A colleague without the right: 404 for the mailbox, its messages and documents.
    app.user(&t.maintainer, "varos", "mas.valaki", "Mas-Valaki-1")
        .await;
    let other = app
        .login("mas.valaki@varos", "Mas-Valaki-1", "normal")
        .await;
    for path in [
        "/api/v1/mailboxes/VAROS-HIV/messages".to_string(),
        format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}"),
        format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}/documents/1"),
    ] {
        let (s, _) = app.get(&other, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // The citizen cannot read the office's copy either, nor a message that is not theirs.
    let (s, _) = app.get(&me, "/api/v1/mailboxes/VAROS-HIV/messages").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(&other, &format!("/api/v1/mailboxes/me/messages/{id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Through a group the right works like any role.
    let (s, b) = app
        .send("POST", &t.maintainer, "/api/v1/tenants/varos/groups",
              json!({"code": "iktatok", "name": "Iktatók", "members": ["mas.valaki"], "roles": ["hkp.VAROS-HIV.read"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let other = app
        .login("mas.valaki@varos", "Mas-Valaki-1", "normal")
        .await;
    let (s, b) = app.get(&other, "/api/v1/mailboxes").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["address"] == "VAROS-HIV" && m["rights"] == json!(["read"])),
        "{b}"
    );
    let (s, _) = app
        .get(
            &other,
            &format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The rights of an office are grantable only in its own tenant.
    let other_tenant = app.tenant_with_admin("masik").await;
    app.user(&other_tenant, "masik", "idegen", "Idegen-Jelszo1")
        .await;
    let (s, b) = app
        .send(
            "PUT",
            &other_tenant,
            "/api/v1/tenants/masik/users/idegen/rights",
            json!({"roles": ["hkp.VAROS-HIV.read"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}

async fn the_directory_finds_offices_without_accents_and_by_type(app: App) {
    let admin = app.admin().await;
    app.tenant_with_admin("fovaros").await;
    office(
        &app,
        &admin,
        "fovaros",
        "BPFOV",
        "Budapest Főváros Önkormányzata",
    )
    .await;
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/office-types",
            json!({"code": "adohatosag", "name": "Adóhatóság"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/offices",
            json!({"short_name": "NAV", "name": "Nemzeti Adó- és Vámhivatal", "tenant": "fovaros",
                     "office_type": "adohatosag", "connection": "machine"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let user = {
        app.user(&admin, "kozpont", "olvaso", "Olvaso-Jelszo1")
            .await;
        app.login("olvaso@kozpont", "Olvaso-Jelszo1", "normal")
            .await
    };
    let (_, b) = app.get(&user, "/api/v1/offices?q=fovaros").await;
    assert_eq!(b["total"], 1, "{b}");
    assert_eq!(b["items"][0]["short_name"], "BPFOV");
    assert!(b["items"][0].get("notify_email").is_none());
    let (_, b) = app
        .get(&user, "/api/v1/offices?office_type=adohatosag")
        .await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["items"][0]["short_name"], "NAV");
    let csv = app.csv(&user, "/api/v1/offices?format=csv").await;
    assert!(csv.contains("BPFOV") && csv.contains("NAV"));
    // Bad office data is refused field by field; short names are unique and upper-case.
    let (s, b) = app
        .send("POST", &admin, "/api/v1/offices",
              json!({"short_name": "kisbetu", "name": "", "tenant": "nincs", "office_type": "x", "connection": "fax",
                     "public_key": "ssh-rsa AAA"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = b["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in [
        "short_name",
        "name",
        "tenant",
        "office_type",
        "connection",
        "public_key",
    ] {
        assert!(fields.contains(&f), "{f}: {b}");
    }
    let (s, _) = app
        .send("POST", &admin, "/api/v1/offices",
              json!({"short_name": "NAV", "name": "Másik", "tenant": "fovaros", "office_type": "egyeb", "connection": "both"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Only central administrators create offices.
    let (s, _) = app
        .send("POST", &user, "/api/v1/offices",
              json!({"short_name": "UJ", "name": "Új", "tenant": "fovaros", "office_type": "egyeb", "connection": "both"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

both!(
    mailbox_rights_come_from_roles_and_others_get_404,
    the_directory_finds_offices_without_accents_and_by_type,
);
