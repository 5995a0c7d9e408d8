//! The example utility portal, a separate application with the stock `openidconnect` client,
//! against a running Kapu: code with PKCE, the first login registering the customer, the
//! next one recognising them, refresh, userinfo, and a logout that ends both sessions.

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::access::contract;
use crate::both;
use crate::forms::{browser, csrf_of};
use crate::harness::App;

pub(crate) const PW: &str = "Portal-Belepes1";

/// Registers the portal as a client and starts it; returns its address.
pub(crate) async fn start_portal(app: &App) -> String {
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services",
            json!({"code": "utility_portal", "name": "Közmű portál", "launch_url": "https://portal.example.hu/",
                   "roles": [{"code": "ugyfel", "name": "Ügyfél", "description": "Ügyfél"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    contract(app, &admin, "kozpont", json!(["utility_portal"])).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/utility_portal/client",
            json!({"client_type": "confidential", "redirect_uris": [format!("{base}/callback")],
                   "post_logout_redirect_uris": [format!("{base}/")], "contact": "it@portal.example.hu"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services/utility_portal/client/state",
            json!({"state": "production"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let router = utility_portal::router(utility_portal::Config {
        issuer: app.kapu.config().public_url.clone(),
        url: base.clone(),
        client_id: "utility_portal".into(),
        client_secret: c["client_secret"].as_str().unwrap().into(),
    })
    .await
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.user(&admin, "kozpont", "kozmu.kati", PW).await;
    base
}

/// Follows redirects across the two sites like a browser; returns the last address, its
/// status and page.
async fn follow(b: &Client, start: &str) -> (String, StatusCode, String) {
    let mut url = start.to_string();
    for _ in 0..10 {
        let r = b.get(&url).send().await.unwrap();
        let status = r.status();
        if status.is_redirection() {
            let to = r.headers()["location"].to_str().unwrap().to_string();
            url = absolute(&url, &to);
            continue;
        }
        return (url, status, r.text().await.unwrap());
    }
    panic!("too many redirects from {start}");
}

fn absolute(from: &str, to: &str) -> String {
    if to.starts_with("http") {
        return to.to_string();
    }
    let origin: String = from.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    format!("{origin}{to}")
}

fn origin(url: &str) -> String {
    url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/")
}

/// Posts a form where `page_url` showed it, then follows where it leads.
async fn submit(
    b: &Client,
    page_url: &str,
    action: &str,
    form: &[(&str, &str)],
) -> (String, StatusCode, String) {
    let target = absolute(page_url, action);
    let r = b.post(&target).form(form).send().await.unwrap();
    if r.status().is_redirection() {
        let to = r.headers()["location"].to_str().unwrap().to_string();
        return follow(b, &absolute(&target, &to)).await;
    }
    let status = r.status();
    (target, status, r.text().await.unwrap())
}

/// From the portal's login link through Kapu's login (and consent, the first time) back to
/// the portal.
async fn log_in_through_kapu(
    b: &Client,
    portal: &str,
    first_time: bool,
) -> (String, StatusCode, String) {
    let (url, s, html) = follow(b, &format!("{portal}/login")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(url.contains("/login?next="), "{url}");
    let (url, s, html) = submit(
        b,
        &url,
        "/login",
        &[
            ("csrf", &csrf_of(&html)),
            ("login", "kozmu.kati@kozpont"),
            ("password", PW),
            ("mode", "normal"),
        ],
    )
    .await;
    if !first_time {
        return (url, s, html);
    }
    assert!(html.contains("Hozzájárulás"), "{url}: {html}");
    let form = crate::sso::consent_form(&url, &html);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    submit(b, &origin(&url), "/oauth2/authorize/consent", &pairs).await
}

async fn the_portal_registers_recognises_and_logs_out_a_customer(app: App) {
    let portal = start_portal(&app).await;
    let b = browser();
    let (url, s, html) = follow(&b, &format!("{portal}/")).await;
    assert_eq!(
        (s, url.as_str()),
        (StatusCode::OK, format!("{portal}/").as_str())
    );
    assert!(html.contains("nincs bejelentkezve"));

    // The first login: Kapu's login and consent, then the portal's own registration.
    let (url, s, html) = log_in_through_kapu(&b, &portal, true).await;
    assert_eq!(
        (s, url.as_str()),
        (StatusCode::OK, format!("{portal}/register").as_str()),
        "{html}"
    );
    assert!(html.contains("Teszt kozmu.kati"), "{html}");
    let (url, s, html) = submit(
        &b,
        &url,
        "/register",
        &[("number", "K-12345"), ("address", "Szeged, Fő utca 1.")],
    )
    .await;
    assert_eq!(
        (s, url.as_str()),
        (StatusCode::OK, format!("{portal}/").as_str())
    );
    assert!(
        html.contains("K-12345") && html.contains("kozmu.kati@kozpont"),
        "{html}"
    );

    // Its access runs out: the refresh token renews it.
    let (_, s, html) = follow(&b, &format!("{portal}/account/refresh")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("megújult"));

    // Logging out of the portal logs out of Kapu too, and comes back to the portal.
    let (url, s, html) = submit(&b, &format!("{portal}/"), "/logout", &[]).await;
    assert_eq!(
        (s, url.as_str()),
        (StatusCode::OK, format!("{portal}/").as_str()),
        "{html}"
    );
    assert!(html.contains("nincs bejelentkezve"));
    let kapu = app.kapu.config().public_url.clone();
    let (url, _, _) = follow(&b, &format!("{kapu}/profile")).await;
    assert!(
        url.ends_with("/login"),
        "the Kapu session is over too: {url}"
    );

    // The next login: Kapu's login again, no consent, and the portal knows the customer.
    let (url, s, html) = log_in_through_kapu(&b, &portal, false).await;
    assert_eq!(
        (s, url.as_str()),
        (StatusCode::OK, format!("{portal}/").as_str()),
        "{html}"
    );
    assert!(html.contains("K-12345"), "{html}");
}

/// `kapu admin register-client`: made once, registered again with a new secret each time.
async fn the_console_registers_a_client_for_the_portal(app: App) {
    let first = app
        .kapu
        .console_register_client(
            "konzol",
            "Konzol portál",
            vec!["http://127.0.0.1:9/callback".into()],
            vec![],
        )
        .await
        .unwrap();
    let second = app
        .kapu
        .console_register_client(
            "konzol",
            "Konzol portál",
            vec!["http://127.0.0.1:9/callback".into()],
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(first, second);
    let admin = app.admin().await;
    let (s, c) = app.get(&admin, "/api/v1/services/konzol/client").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["state"], "production");
    let token = |secret: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth("konzol", Some(secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The old secret no longer authenticates; the new one does (and the grant is unknown).
    assert_eq!(token(first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(token(second).await, StatusCode::BAD_REQUEST);
}

/// A deputy acting for a customer: the portal shows the customer's data and who acts.
async fn the_portal_shows_the_deputy_acting_for_a_customer(app: App) {
    let portal = start_portal(&app).await;
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "helyettes", PW).await;
    let (s, b) = crate::access::set_rights(
        &app,
        &admin,
        "kozpont",
        "kozmu.kati",
        json!({"roles": ["utility_portal.ugyfel"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/substitutions",
            json!({"deputy": "helyettes", "principal": "kozmu.kati", "roles": ["utility_portal.ugyfel"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let b = browser();
    let (url, _, html) = follow(&b, &format!("{portal}/login")).await;
    let (url, s, html) = submit(
        &b,
        &url,
        "/login",
        &[
            ("csrf", &csrf_of(&html)),
            ("login", "helyettes@kozpont"),
            ("password", PW),
            ("mode", "normal"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(url.ends_with("/login/identity"), "{url}");
    let choice = crate::sso::first_principal(&html);
    let (url, _, html) = submit(
        &b,
        &url,
        "/login/identity",
        &[("csrf", &csrf_of(&html)), ("act_for", &choice)],
    )
    .await;
    assert!(html.contains("Hozzájárulás"), "{url}: {html}");
    let form = crate::sso::consent_form(&url, &html);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (url, _, _) = submit(&b, &origin(&url), "/oauth2/authorize/consent", &pairs).await;
    assert_eq!(url, format!("{portal}/register"));
    let (_, s, html) = submit(
        &b,
        &url,
        "/register",
        &[("number", "K-777"), ("address", "Pécs")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("kozmu.kati@kozpont") && html.contains("K-777"),
        "{html}"
    );
    assert!(
        html.contains("Helyettesként eljár: Teszt helyettes"),
        "{html}"
    );
}

both!(
    the_portal_shows_the_deputy_acting_for_a_customer,
    the_portal_registers_recognises_and_logs_out_a_customer,
    the_console_registers_a_client_for_the_portal,
);
