//! The access-control pages, driven like a browser.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::{ADMIN, ADMIN_PW, App};

both!(
    the_launchpad_shows_maintenance_by_role_and_contracted_services,
    the_simple_rights_page_moves_roles_and_groups_and_saves_once,
    a_deputy_chooses_an_identity_and_the_header_names_both,
    catalogue_groups_substitutions_and_system_pages_work_in_the_browser,
    built_in_role_names_follow_the_page_language,
);

async fn setup_service(app: &App, tenant_token: &str) {
    let admin = app.admin().await;
    app.send(
        "POST",
        &admin,
        "/api/v1/services",
        json!({"code": "gazd", "name": "Gazdálkodás", "launch_url": "https://gazd.example.hu/", "roles": [{"code": "konyvelo", "name": "Könyvelő"}]}),
    )
    .await;
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/szeged/services",
            json!({"services": ["gazd"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let _ = tenant_token;
}

async fn the_launchpad_shows_maintenance_by_role_and_contracted_services(app: App) {
    let szeged = app.tenant_with_admin("szeged").await;
    setup_service(&app, &szeged).await;
    app.user(&szeged, "szeged", "ugy.intezo", "Ugy-Intezo-12")
        .await;
    app.send(
        "PUT",
        &szeged,
        "/api/v1/tenants/szeged/users/ugy.intezo/rights",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;

    let b = browser();
    log_in(&b, &app, "ugy.intezo@szeged", "Ugy-Intezo-12", "normal").await;
    let (_, html) = page(&b, &app, "/").await;
    assert!(
        html.contains("href=\"https://gazd.example.hu/\" target=\"_blank\" rel=\"noopener\""),
        "the contracted service, in a new window"
    );
    assert!(
        !html.contains("Karbantartás"),
        "a clerk has no maintenance block"
    );
    let (_, html) = page(&b, &app, "/profile").await;
    assert!(html.contains("Könyvelő") && html.contains("egyéni") && html.contains("automatikus"));

    let b = browser();
    log_in(&b, &app, "fo.admin@szeged", "Tenant-Admin1", "normal").await;
    let (_, html) = page(&b, &app, "/").await;
    for link in [
        "/admin/users",
        "/admin/groups",
        "/admin/substitutions",
        "/admin/audit",
        "/admin/settings",
        "/admin/statistics",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(
        !html.contains("href=\"/admin/tenants\""),
        "tenants are the centre's"
    );
    assert!(
        !html.contains("gazd.example.hu"),
        "no role in the service, no link"
    );
}

async fn the_simple_rights_page_moves_roles_and_groups_and_saves_once(app: App) {
    let szeged = app.tenant_with_admin("szeged").await;
    setup_service(&app, &szeged).await;
    app.user(&szeged, "szeged", "jog.ember", "Jog-Ember-123")
        .await;
    app.send(
        "POST",
        &szeged,
        "/api/v1/tenants/szeged/groups",
        json!({"code": "olvasok", "name": "Olvasók", "roles": ["kapu.log_reader"]}),
    )
    .await;
    let b = browser();
    log_in(&b, &app, "fo.admin@szeged", "Tenant-Admin1", "secure").await;
    let path = "/admin/users/szeged/jog.ember/rights";
    let (s, html) = page(&b, &app, path).await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    // Two roles at once to the right, then one back; nothing is stored yet.
    let (s, _, html) = post(
        &b,
        &app,
        path,
        &[
            ("csrf", &csrf),
            ("op", "add_role"),
            ("pick_role", "gazd.konyvelo"),
            ("pick_role", "kapu.vir_reader"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("name=\"state_role\" value=\"gazd.konyvelo\"")
            && html.contains("name=\"state_role\" value=\"kapu.vir_reader\"")
    );
    assert!(html.contains("még nincsenek mentve"));
    let (_, rights) = app
        .get(&szeged, "/api/v1/tenants/szeged/users/jog.ember/rights")
        .await;
    assert!(
        rights["individual"].as_array().unwrap().is_empty(),
        "not saved by > alone"
    );
    let (_, _, html) = post(
        &b,
        &app,
        path,
        &[
            ("csrf", &csrf),
            ("state_role", "gazd.konyvelo"),
            ("state_role", "kapu.vir_reader"),
            ("op", "remove_role"),
            ("drop_role", "kapu.vir_reader"),
        ],
    )
    .await;
    assert!(!html.contains("name=\"state_role\" value=\"kapu.vir_reader\""));
    let (_, _, html) = post(
        &b,
        &app,
        path,
        &[
            ("csrf", &csrf),
            ("state_role", "gazd.konyvelo"),
            ("op", "add_group"),
            ("pick_group", "olvasok"),
        ],
    )
    .await;
    assert!(html.contains("name=\"state_group\" value=\"olvasok\""));
    let (s, location, _) = post(
        &b,
        &app,
        path,
        &[
            ("csrf", &csrf),
            ("state_role", "gazd.konyvelo"),
            ("state_group", "olvasok"),
            ("op", "save"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let (_, rights) = app
        .get(&szeged, "/api/v1/tenants/szeged/users/jog.ember/rights")
        .await;
    assert_eq!(rights["individual"], json!(["gazd.konyvelo"]));
    assert_eq!(rights["groups"], json!(["olvasok"]));
    // A role of a service outside the contract is refused on save.
    let (s, _, html) = post(
        &b,
        &app,
        path,
        &[
            ("csrf", &csrf),
            ("state_role", "nincs.ilyen"),
            ("op", "save"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("error-summary"));
}

async fn a_deputy_chooses_an_identity_and_the_header_names_both(app: App) {
    let szeged = app.tenant_with_admin("szeged").await;
    setup_service(&app, &szeged).await;
    app.user(&szeged, "szeged", "fo.nok", "Fo-Nok-12345").await;
    app.user(&szeged, "szeged", "hely.ettes", "Hely-Ettes-12")
        .await;
    app.send(
        "PUT",
        &szeged,
        "/api/v1/tenants/szeged/users/fo.nok/rights",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    let (s, _) = app
        .send(
            "POST",
            &szeged,
            "/api/v1/tenants/szeged/substitutions",
            json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let b = browser();
    let (_, location, _) = log_in(&b, &app, "hely.ettes@szeged", "Hely-Ettes-12", "normal").await;
    assert_eq!(location, "/login/identity");
    let r = b.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        "/login/identity",
        "the choice comes first"
    );
    let (_, html) = page(&b, &app, "/login/identity").await;
    assert!(html.contains("value=\"fo.nok\"") && html.contains("Teszt fo.nok"));
    let csrf = csrf_of(&html);
    let (s, location, _) = post(
        &b,
        &app,
        "/login/identity",
        &[("csrf", &csrf), ("act_for", "fo.nok")],
    )
    .await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (_, html) = page(&b, &app, "/").await;
    assert!(
        html.contains("Teszt hely.ettes (helyettesítve: Teszt fo.nok)"),
        "the header names deputy and principal"
    );
    assert!(
        html.contains("gazd.example.hu"),
        "the substituted service is on the launchpad"
    );
    // The choice is made once per login.
    let (s, _, _) = post(
        &b,
        &app,
        "/login/identity",
        &[("csrf", &csrf), ("act_for", "-")],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, html) = page(&b, &app, "/profile").await;
    assert!(html.contains("helyettesítés: fo.nok@szeged"));

    // Choosing one's own identity works too.
    let b = browser();
    log_in(&b, &app, "hely.ettes@szeged", "Hely-Ettes-12", "normal").await;
    let (_, html) = page(&b, &app, "/login/identity").await;
    let (_, location, _) = post(
        &b,
        &app,
        "/login/identity",
        &[("csrf", &csrf_of(&html)), ("act_for", "-")],
    )
    .await;
    assert_eq!(location, "/");
    let (_, html) = page(&b, &app, "/").await;
    assert!(!html.contains("helyettesítve"));
}

async fn catalogue_groups_substitutions_and_system_pages_work_in_the_browser(app: App) {
    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "secure").await;
    let (_, html) = page(&b, &app, "/admin/services/new").await;
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/services/new",
        &[
            ("csrf", &csrf),
            ("code", "Rossz Kód"),
            ("name", "X"),
            ("launch_url", "javascript:alert(1)"),
            ("roles", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"code-error\"") && html.contains("id=\"launch_url-error\""));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/services/new",
        &[
            ("csrf", &csrf),
            ("code", "adozas"),
            ("name", "Adózás"),
            ("launch_url", "https://ado.example.hu/"),
            ("roles", "ugyintezo:Ügyintéző; vezeto:Vezető"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/admin/services").await;
    assert!(html.contains("Adózás") && html.contains("Ügyintéző"));

    let admin = app.admin().await;
    app.send("POST", &admin, "/api/v1/tenants", json!({"code": "szeged", "name": "Szeged", "admin": {"login": "fo.admin", "full_name": "Fő Admin", "email": "fo@szeged.hu"}})).await;
    let (_, html) = page(&b, &app, "/admin/tenants/szeged/services").await;
    assert!(html.contains("value=\"adozas\""));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/tenants/szeged/services",
        &[("csrf", &csrf), ("services", "adozas")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, contract) = app.get(&admin, "/api/v1/tenants/szeged/services").await;
    assert_eq!(contract["items"][0]["code"], "adozas");

    let (_, html) = page(&b, &app, "/admin/groups/new?tenant=szeged").await;
    assert!(
        html.contains("value=\"adozas.ugyintezo\""),
        "contracted roles are offered"
    );
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/groups/new?tenant=szeged",
        &[
            ("csrf", &csrf),
            ("code", "adosok"),
            ("name", "Adósok"),
            ("members", "fo.admin"),
            ("roles", "adozas.ugyintezo"),
            ("roles", "kapu.log_reader"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, g) = app
        .get(&admin, "/api/v1/tenants/szeged/groups/adosok")
        .await;
    assert_eq!(g["roles"], json!(["adozas.ugyintezo", "kapu.log_reader"]));
    let (_, html) = page(&b, &app, "/admin/groups?tenant=szeged").await;
    assert!(html.contains("Adósok") && html.contains("format=csv"));
    let r = b
        .get(app.url("/admin/groups?tenant=szeged&format=csv"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Adósok"));

    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users",
        json!({"login": "helyettes.hugo", "full_name": "Helyettes Hugó", "email": "h@x.hu"}),
    )
    .await;
    let (_, html) = page(&b, &app, "/admin/substitutions/new?tenant=kozpont").await;
    assert!(html.contains("Helyettes Hugó"));
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/substitutions/new?tenant=kozpont",
        &[
            ("csrf", &csrf),
            ("deputy", "helyettes.hugo"),
            ("principal", "admin"),
            ("roles", "kapu.log_reader"),
            ("group", ""),
            ("starts_at", ""),
            ("ends_at", "2099-12-31"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = page(&b, &app, "/admin/substitutions?tenant=kozpont").await;
    // A date typed on the page is that day's midnight in Budapest, shown back the same way.
    assert!(
        html.contains("Helyettes Hugó") && html.contains("2099.12.31. 00:00"),
        "{html}"
    );
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/substitutions/new?tenant=kozpont",
        &[
            ("csrf", &csrf),
            ("deputy", "helyettes.hugo"),
            ("principal", "admin"),
            ("roles", "kapu.log_reader"),
            ("ends_at", "tegnap"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"ends_at-error\""));

    let (s, html) = page(&b, &app, "/admin/audit?user=admin@kozpont").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("substitution.create") && html.contains("group.create"));
    let (s, _) = page(&b, &app, "/admin/audit?from=tegnap").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, html) = page(&b, &app, "/admin/settings").await;
    assert!(html.contains("Hibás próbálkozások zárolásig"));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/settings/lockout_threshold",
        &[("csrf", &csrf), ("value", "nulla")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/settings/lockout_threshold",
        &[("csrf", &csrf), ("value", "7")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = app.get(&admin, "/api/v1/settings/lockout_threshold").await;
    assert_eq!(v["global_value"], "7");
    let (_, html) = page(&b, &app, "/admin/roles?q=adozas&sort=code&order=desc").await;
    let (v, u) = (
        html.find("Vezető").unwrap(),
        html.find("Ügyintéző").unwrap(),
    );
    assert!(v < u, "sorted by code, descending");
    assert!(!html.contains("Napló betekintő"), "filtered");
    let (_, roles) = app.get(&admin, "/api/v1/roles?sort=name&per_page=5").await;
    assert_eq!(roles["per_page"], 5);
    assert!(roles["total"].as_i64().unwrap() >= 14);
    let (_, html) = page(&b, &app, "/admin/statistics").await;
    assert!(html.contains("kozpont") && html.contains("szeged"));
}

async fn built_in_role_names_follow_the_page_language(app: App) {
    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "normal").await;
    let (_, html) = page(&b, &app, "/profile").await;
    assert!(html.contains("Felhasználó karbantartó"), "{html}");
    b.get(app.url("/lang?to=en&back=/profile"))
        .send()
        .await
        .unwrap();
    let (_, html) = page(&b, &app, "/profile").await;
    assert!(html.contains("User maintainer"), "{html}");
    assert!(!html.contains("Felhasználó karbantartó"));
    let (_, html) = page(&b, &app, "/admin/roles").await;
    assert!(
        html.contains("User rights administrator") && html.contains("Framework"),
        "{html}"
    );
    // The audit page's examples speak English too.
    let (_, html) = page(&b, &app, "/admin/audit").await;
    assert!(
        html.contains("placeholder=\"YYYY-MM-DD\"")
            && html.contains("placeholder=\"name@organisation\"")
            && !html.contains("ÉÉÉÉ"),
        "{html}"
    );
}
