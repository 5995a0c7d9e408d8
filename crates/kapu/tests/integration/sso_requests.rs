//! What an authorization request asks of the browser's way is answered, never ignored:
//! `prompt=none`, `response_mode`, and the form target of the pages that lead to the service.

use reqwest::StatusCode;

use crate::both;
use crate::forms::{browser, log_in};
use crate::harness::App;
use crate::sso::{PW, REDIRECT, authorize, authorize_url, param, pkce, setup, urlencode};

/// What a request asks of the browser's way is answered, never ignored: `prompt=none`
/// without a session or consent goes back as an error, another `response_mode` is refused,
/// and the pages that lead to the service allow exactly its origin as a form target.
async fn silent_requests_and_modes_are_answered_and_pages_lead_to_the_service(app: App) {
    let (_, _) = setup(&app, "production").await;
    let (_, challenge) = pkce("n");
    let b = browser();
    let silent = authorize_url("gazd", Some(&challenge), "&prompt=none");
    let r = b.get(app.url(&silent)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    let r = b
        .get(app.url(&authorize_url(
            "gazd",
            Some(&challenge),
            "&response_mode=form_post",
        )))
        .send()
        .await
        .unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );

    // The login page of a service's request may send its form's answer to the service.
    let url = authorize_url("gazd", Some(&challenge), "");
    let r = b.get(app.url(&url)).send().await.unwrap();
    let login = r.headers()["location"].to_str().unwrap().to_string();
    let r = b.get(app.url(&login)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("form-action 'self' https://gazd.example.hu;"),
        "{csp}"
    );
    // A forged request widens nothing, and what the cookie carries cannot add attributes.
    for forged in [
        "/oauth2/authorize?client_id=gazd&redirect_uri=https%3A%2F%2Fevil.example%2F",
        "/oauth2/authorize?x=1;%20Domain=evil.example",
    ] {
        let b = browser();
        let r = b
            .get(app.url(&format!("/login?next={}", urlencode(forged))))
            .send()
            .await
            .unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self';"), "{forged}: {csp}");
        let cookies: Vec<&str> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            cookies.iter().all(|c| !c.contains("evil.example")),
            "{cookies:?}"
        );
    }

    // Logged in, with no consent yet: a silent request cannot ask for it.
    log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    let r = b.get(app.url(&silent)).send().await.unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("consent_required"),
        "{back}"
    );
    // The consent page's form leads to the service.
    let r = b.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://gazd.example.hu;"),
        "{csp}"
    );
    // Once consented, a silent request gets its code.
    authorize(&app, &b, &url).await;
    let r = b.get(app.url(&silent)).send().await.unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(param(&back, "code").is_some(), "{back}");
}

both!(silent_requests_and_modes_are_answered_and_pages_lead_to_the_service);
