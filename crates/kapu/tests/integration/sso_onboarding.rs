//! Onboarding services over HTTP: a tenant's request, the centre's review and lifecycle
//! moves with their e-mails, through the API and the pages.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::App;
use crate::sso::{PW, pkce, urlencode};

async fn a_tenant_requests_a_service_and_the_centre_moves_it_to_production(app: App) {
    let hivatal = app.tenant_with_admin("hivatal").await;
    let request = json!({
        "service": {"code": "viz", "name": "Vízmű", "launch_url": "https://viz.example.hu/",
                    "roles": [{"code": "ugyfel", "name": "Ügyfél", "description": "Ügyfél"}]},
        "client": {"client_type": "confidential", "redirect_uris": ["https://viz.example.hu/cb"],
                   "contact": "it@viz.example.hu"},
    });
    let (s, r) = app
        .send("POST", &hivatal, "/api/v1/sso/requests", request.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["client"]["state"], "requested");
    assert!(r["client_secret"].is_string());
    let mail = app.mail_to("fo.admin@hivatal.example", 2).await;
    assert!(
        mail.contains("elbírálásra vár") || mail.contains("awaits review"),
        "{mail}"
    );
    // The same code twice is refused; a plain user files nothing.
    let (s, _) = app
        .send("POST", &hivatal, "/api/v1/sso/requests", request.clone())
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    app.user(&hivatal, "hivatal", "sima", PW).await;
    let plain = app.login("sima@hivatal", PW, "secure").await;
    let mut other = request.clone();
    other["service"]["code"] = json!("viz2");
    let (s, _) = app
        .send("POST", &plain, "/api/v1/sso/requests", other)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A requested service takes no logins: it is unknown to the authorization endpoint,
    // so that a mere request makes no redirect to the addresses it names.
    let b = browser();
    log_in(&b, &app, "sima@hivatal", PW, "normal").await;
    let (_, challenge) = pkce("i");
    let url = format!(
        "/oauth2/authorize?response_type=code&client_id=viz&redirect_uri={}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        urlencode("https://viz.example.hu/cb")
    );
    crate::sso::not_served(&b, &app, &url).await;
    // The tenant sees its own requests; another tenant does not.
    let (_, mine) = app.get(&hivatal, "/api/v1/sso/clients").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let masik = app.tenant_with_admin("masikhivatal").await;
    let (_, theirs) = app.get(&masik, "/api/v1/sso/clients").await;
    assert_eq!(theirs, json!([]));
    // The centre tries it in test, then puts it in production; the requester hears each.
    let admin = app.admin().await;
    let (_, waiting) = app.get(&admin, "/api/v1/sso/clients?state=requested").await;
    assert_eq!(waiting[0]["client_id"], "viz");
    for (state, n, text) in [
        ("test", 3, "tesztállapot"),
        ("production", 4, "éles üzembe"),
    ] {
        let (s, c) = app
            .send(
                "POST",
                &admin,
                "/api/v1/services/viz/client/state",
                json!({"state": state}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        let mail = app.mail_to("fo.admin@hivatal.example", n).await;
        assert!(mail.contains(text), "{mail}");
    }
    let (_, log) = app
        .get(&admin, "/api/v1/audit?per_page=100&action=sso.client.state")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
}
async fn the_pages_file_review_and_move_a_request(app: App) {
    app.tenant_with_admin("lapos").await;
    let t = browser();
    log_in(&t, &app, "fo.admin@lapos", "Tenant-Admin1", "secure").await;
    let (s, html) = page(&t, &app, "/admin/sso/request").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    let form = |code: &'static str, uris: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("code", code.to_string()),
            ("name", "Lapos Víz".to_string()),
            ("launch_url", "https://viz.lapos.hu/".to_string()),
            ("roles", "ugyfel=Ügyfél, ugyintezo=Ügyintéző".to_string()),
            ("client_type", "confidential".to_string()),
            ("redirect_uris", uris.to_string()),
            ("contact", "it@lapos.hu".to_string()),
        ]
    };
    let bad = form("laposviz", "http://evil.example.com/cb");
    let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, html) = post(&t, &app, "/admin/sso/request", &pairs).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("redirect_uris"), "{html}");
    let good = form("laposviz", "https://viz.lapos.hu/cb");
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, html) = post(&t, &app, "/admin/sso/request", &pairs).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("Kliens titok") && html.contains("Kérelmezve"),
        "{html}"
    );
    let (_, html) = page(&t, &app, "/admin/sso").await;
    assert!(html.contains("laposviz"));
    // The centre opens it, tries it in test and makes a new secret.
    let c = browser();
    log_in(
        &c,
        &app,
        crate::harness::ADMIN,
        crate::harness::ADMIN_PW,
        "secure",
    )
    .await;
    let (s, html) = page(&c, &app, "/admin/sso/laposviz").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let csrf = csrf_of(&html);
    let (s, to, _) = post(
        &c,
        &app,
        "/admin/sso/laposviz/state",
        &[("csrf", &csrf), ("state", "test")],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/sso/laposviz")
    );
    let (_, html) = page(&c, &app, "/admin/sso/laposviz").await;
    assert!(html.contains("Teszt"), "{html}");
    let (s, _, html) = post(&c, &app, "/admin/sso/laposviz/secret", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("csak most"), "{html}");
    // The tenant's maintainer cannot open the centre's page.
    let (s, _) = page(&t, &app, "/admin/sso/laposviz").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    a_tenant_requests_a_service_and_the_centre_moves_it_to_production,
    the_pages_file_review_and_move_a_request,
);
