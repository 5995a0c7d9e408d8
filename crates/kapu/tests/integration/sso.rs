//! Single sign-on over HTTP: a service registered as a client sends a browser to Kapu's
//! authorization endpoint, the user logs in and consents, and the service's back end
//! exchanges the one-time code (with PKCE) for tokens that a stock JOSE library verifies.
//! Every bad input is refused with the RFC's error and nothing issued.

use base64::Engine as _;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::access::{contract, gazd_service, set_rights};
use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::{App, code};

pub(crate) const REDIRECT: &str = "https://gazd.example.hu/callback";
pub(crate) const PW: &str = "Egyszeri-Belepes1";

/// Registers `service` as a client and moves it to `state`; returns its secret, if any.
pub(crate) async fn client(
    app: &App,
    admin: &str,
    service: &str,
    kind: &str,
    state: &str,
) -> Option<String> {
    let (s, c) = app
        .send(
            "PUT",
            admin,
            &format!("/api/v1/services/{service}/client"),
            json!({"client_type": kind, "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["client"]["state"], "test");
    if state != "test" {
        let (s, c) = app
            .send(
                "POST",
                admin,
                &format!("/api/v1/services/{service}/client/state"),
                json!({"state": state}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
    }
    c["client_secret"].as_str().map(str::to_string)
}

/// An authorization request of a client that does not serve: an error page, no redirect.
pub(crate) async fn not_served(b: &Client, app: &App, url: &str) {
    let r = b.get(app.url(url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("error-summary") || html.contains("<h1"),
        "{html}"
    );
}

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("verifier-{seed}-{}", "x".repeat(40));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn authorize_url(client_id: &str, challenge: Option<&str>, extra: &str) -> String {
    let mut url = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=st-1&nonce=n-1{extra}",
        urlencode(REDIRECT)
    );
    if let Some(c) = challenge {
        url.push_str(&format!("&code_challenge={c}&code_challenge_method=S256"));
    }
    url
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

/// Decodes a query value: `%XX`, and `+` for a space as form encoding writes it.
pub(crate) fn percent_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The consent form for the authorization request at `url`, allowing it: the request's
/// own parameters, the page's token, and the decision.
pub(crate) fn consent_form(url: &str, html: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').unwrap().1;
    let mut form: Vec<(String, String)> = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(v))
        })
        .collect();
    form.push(("csrf".into(), csrf_of(html)));
    form.push(("decision".into(), "allow".into()));
    form
}

/// The value of the identity page's first principal (the second choice, after one's own).
pub(crate) fn first_principal(html: &str) -> String {
    html.split("name=\"act_for\" value=\"")
        .nth(2)
        .unwrap()
        .chars()
        .take_while(|c| *c != '"')
        .collect()
}

/// Follows an authorization request in a logged-in browser, consenting when asked;
/// returns where the browser is sent back to.
pub(crate) async fn authorize(app: &App, b: &Client, url: &str) -> String {
    let r = b.get(app.url(url)).send().await.unwrap();
    if r.status() == StatusCode::SEE_OTHER {
        return r.headers()["location"].to_str().unwrap().to_string();
    }
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Hozzájárulás"), "{html}");
    let form = consent_form(url, &html);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, location, _) = post(b, app, "/oauth2/authorize/consent", &pairs).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    location
}

pub(crate) async fn token(
    app: &App,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = app.http.post(app.url("/oauth2/token")).form(form);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

pub(crate) async fn exchange(
    app: &App,
    secret: &str,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    token(
        app,
        Some(("gazd", secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub(crate) async fn refresh(app: &App, secret: &str, refresh_token: &str) -> (StatusCode, Value) {
    token(
        app,
        Some(("gazd", secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub(crate) async fn userinfo(app: &App, access: &str) -> (StatusCode, Value) {
    let r = app
        .http
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Verifies an ID token with the published keys, as any relying party would.
pub(crate) async fn verify_id_token(app: &App, jwt: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["gazd"]);
    validation.set_issuer(&[app.kapu.config().public_url.as_str()]);
    crate::mailbox::verify_with(app, jwt, &validation).await
}

/// `gazd` contracted to the central tenant, with a user holding one of its roles.
pub(crate) async fn setup(app: &App, state: &str) -> (String, String) {
    let admin = gazd_service(app).await;
    contract(app, &admin, "kozpont", json!(["gazd"])).await;
    app.user(&admin, "kozpont", "ugyfel", PW).await;
    let (s, b) = set_rights(
        app,
        &admin,
        "kozpont",
        "ugyfel",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let secret = client(app, &admin, "gazd", "confidential", state)
        .await
        .unwrap();
    (admin, secret)
}
async fn a_service_logs_a_user_in_with_a_code_and_pkce(app: App) {
    let (_, secret) = setup(&app, "production").await;
    let b = browser();
    let (verifier, challenge) = pkce("a");
    let url = authorize_url("gazd", Some(&challenge), "");
    // No session: to Kapu's login, and back to the request after it.
    let r = b.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = r.headers()["location"].to_str().unwrap().to_string();
    assert!(login.starts_with("/login?next="), "{login}");
    // The service's login page names the service and asks for no mode.
    let (s, html) = page(&b, &app, &login).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Bejelentkezés: Gazdálkodás") && !html.contains("value=\"secure\""),
        "{html}"
    );
    let (s, to, _) = log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/oauth2/authorize?"), "{to}");
    let back = authorize(&app, &b, &to).await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    let code = param(&back, "code").unwrap();

    // A wrong secret, or a wrong verifier, gets nothing (and leaves the code usable).
    let (s, e) = exchange(&app, "rossz", &code, &verifier).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, e) = exchange(&app, &secret, &code, &pkce("b").0).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, t) = exchange(&app, &secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    let id = verify_id_token(&app, t["id_token"].as_str().unwrap()).await;
    assert_eq!(id["preferred_username"], "ugyfel@kozpont");
    assert_eq!(id["tenant"], "kozpont");
    assert_eq!(id["roles"], json!(["konyvelo"]));
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["acr"], "urn:kapu:acr:pwd");
    assert!(id.get("act").is_none());
    let (s, me) = userinfo(&app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ugyfel@kozpont.example");
    assert_eq!(me["sub"], id["sub"]);
    let (s, _) = userinfo(&app, "junk").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The code once more: refused, and what it gave is revoked.
    let (s, e) = exchange(&app, &secret, &code, &verifier).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = userinfo(&app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Consent is remembered: the next request goes straight back with a code.
    let back = authorize(&app, &b, &url).await;
    let code = param(&back, "code").unwrap();
    let (s, t) = exchange(&app, &secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // Refresh rotates; the spent token again revokes the whole family.
    let first = t["refresh_token"].as_str().unwrap();
    let (s, t2) = refresh(&app, &secret, first).await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    assert_ne!(t2["refresh_token"], t["refresh_token"]);
    let (s, e) = refresh(&app, &secret, first).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = refresh(&app, &secret, t2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = userinfo(&app, t2["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // An expired code, and a code presented by another client.
    let back = authorize(&app, &b, &url).await;
    let late = param(&back, "code").unwrap();
    app.clock.advance(61_000);
    let (s, e) = exchange(&app, &secret, &late, &verifier).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let admin = app.admin().await;
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services",
            json!({"code": "masik", "name": "Másik", "launch_url": "https://masik.example.hu/"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    client(&app, &admin, "masik", "public", "production").await;
    let back = authorize(&app, &b, &url).await;
    let theirs = param(&back, "code").unwrap();
    let (s, e) = token(
        &app,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "masik"),
            ("code", &theirs),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, t) = exchange(&app, &secret, &theirs, &verifier).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the code still works for its own client: {t}"
    );
}

async fn bad_requests_get_no_code(app: App) {
    let (admin, _) = setup(&app, "test").await;
    let b = browser();
    log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    let (_, challenge) = pkce("c");
    // An unknown client, or an address it has not registered: a page, never a redirect.
    for url in [
        authorize_url("nincs", Some(&challenge), ""),
        authorize_url("gazd", Some(&challenge), "").replace(
            &urlencode(REDIRECT),
            &urlencode("https://evil.example.com/cb"),
        ),
    ] {
        let r = b.get(app.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers().get("location").is_none());
    }
    // A service in test takes users of test tenants only.
    let back = authorize(&app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    let (s, _) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/tenants/kozpont/test",
            json!({"test": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Now consent is asked; saying no sends the refusal back.
    let url = authorize_url("gazd", Some(&challenge), "");
    let (s, html) = page(&b, &app, &url).await;
    assert_eq!(s, StatusCode::OK);
    let (s, back, _) = post(
        &b,
        &app,
        "/oauth2/authorize/consent",
        &[
            ("csrf", &csrf_of(&html)),
            ("decision", "deny"),
            ("response_type", "code"),
            ("client_id", "gazd"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    let back = authorize(&app, &b, &url).await;
    assert!(param(&back, "code").is_some(), "{back}");
    // A public client must use PKCE; a plain challenge is refused.
    client(&app, &admin, "gazd", "public", "test").await;
    let back = authorize(&app, &b, &authorize_url("gazd", None, "")).await;
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    let back = authorize(
        &app,
        &b,
        &format!(
            "{}&code_challenge=abc&code_challenge_method=plain",
            authorize_url("gazd", None, "")
        ),
    )
    .await;
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    // No openid scope, no code.
    let url = authorize_url("gazd", Some(&challenge), "").replace("openid%20", "");
    let back = authorize(&app, &b, &url).await;
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_scope"));
    // A suspended service takes no logins and is unknown to the endpoint: a page, never
    // a redirect to its addresses; its tokens are not exchanged.
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services/gazd/client/state",
            json!({"state": "suspended"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    not_served(&b, &app, &authorize_url("gazd", Some(&challenge), "")).await;
    // Lifecycle moves out of order are refused.
    let (s, e) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services/gazd/client/state",
            json!({"state": "requested"}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"));
    // Registrations are checked field by field.
    let (s, e) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "other", "redirect_uris": ["http://evil.example.com/cb"], "contact": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 3, "{e}");
}

async fn discovery_names_the_endpoints(app: App) {
    let (s, d) = app.get("", "/.well-known/openid-configuration").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let iss = app.kapu.config().public_url.clone();
    assert_eq!(d["issuer"], iss.as_str());
    assert_eq!(d["token_endpoint"], format!("{iss}/oauth2/token"));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
}
/// Logs `ugyfel` in through `gazd` in a fresh browser; returns the browser and the tokens.
pub(crate) async fn signed_in(app: &App, secret: &str, seed: &str) -> (Client, Value) {
    let b = browser();
    log_in(&b, app, "ugyfel@kozpont", PW, "normal").await;
    let (verifier, challenge) = pkce(seed);
    let back = authorize(app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    let code = param(&back, "code").unwrap();
    let (s, t) = exchange(app, secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    (b, t)
}

async fn a_service_can_ask_for_a_fresh_or_stronger_login(app: App) {
    let (_, secret) = setup(&app, "production").await;
    let (b, _) = signed_in(&app, &secret, "j").await;
    let (_, challenge) = pkce("j");
    // prompt=login: back to Kapu's login, and the request goes on without the prompt.
    let r = b
        .get(app.url(&authorize_url("gazd", Some(&challenge), "&prompt=login")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/login?next="), "{to}");
    assert!(!percent_decode(&to).contains("prompt="), "{to}");
    // A second factor asked for, and the user has none: refused, not looped.
    let back = authorize(
        &app,
        &b,
        &authorize_url(
            "gazd",
            Some(&challenge),
            "&acr_values=urn%3Akapu%3Aacr%3Amfa",
        ),
    )
    .await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    // max_age older than the login: log in again.
    app.clock.advance(120_000);
    let r = b
        .get(app.url(&authorize_url("gazd", Some(&challenge), "&max_age=60")))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
}
both!(
    a_service_logs_a_user_in_with_a_code_and_pkce,
    bad_requests_get_no_code,
    discovery_names_the_endpoints,
    a_service_can_ask_for_a_fresh_or_stronger_login,
);
