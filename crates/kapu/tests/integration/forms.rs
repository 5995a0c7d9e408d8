//! A cookie-keeping HTTP client that fills in forms like a browser, for the page tests.

use reqwest::{Client, StatusCode};

use crate::harness::App;

pub fn browser() -> Client {
    crate::harness::install_tls_provider();
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

pub async fn page(b: &Client, app: &App, path: &str) -> (StatusCode, String) {
    let r = b.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Posts a form; returns the status, the redirect target (if any) and the page.
pub async fn post(
    b: &Client,
    app: &App,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let r = b.post(app.url(path)).form(form).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

pub async fn log_in(
    b: &Client,
    app: &App,
    login: &str,
    password: &str,
    mode: &str,
) -> (StatusCode, String, String) {
    let (_, html) = page(b, app, "/login").await;
    let csrf = csrf_of(&html);
    post(
        b,
        app,
        "/login",
        &[
            ("csrf", &csrf),
            ("login", login),
            ("password", password),
            ("mode", mode),
        ],
    )
    .await
}
