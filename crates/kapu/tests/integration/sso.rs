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

const REDIRECT: &str = "https://gazd.example.hu/callback";
const PW: &str = "Egyszeri-Belepes1";

/// Registers `service` as a client and moves it to `state`; returns its secret, if any.
async fn client(app: &App, admin: &str, service: &str, kind: &str, state: &str) -> Option<String> {
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

/// A PKCE verifier and its S256 challenge.
fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("verifier-{seed}-{}", "x".repeat(40));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(client_id: &str, challenge: Option<&str>, extra: &str) -> String {
    let mut url = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=st-1&nonce=n-1{extra}",
        urlencode(REDIRECT)
    );
    if let Some(c) = challenge {
        url.push_str(&format!("&code_challenge={c}&code_challenge_method=S256"));
    }
    url
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
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

/// Follows an authorization request in a logged-in browser, consenting when asked;
/// returns where the browser is sent back to.
async fn authorize(app: &App, b: &Client, url: &str) -> String {
    let r = b.get(app.url(url)).send().await.unwrap();
    if r.status() == StatusCode::SEE_OTHER {
        return r.headers()["location"].to_str().unwrap().to_string();
    }
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Hozzájárulás"), "{html}");
    let query = url.split_once('?').unwrap().1;
    let mut form: Vec<(String, String)> = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(v))
        })
        .collect();
    form.push(("csrf".into(), csrf_of(&html)));
    form.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, location, _) = post(b, app, "/oauth2/authorize/consent", &pairs).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    location
}

async fn token(
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

async fn exchange(app: &App, secret: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
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

async fn refresh(app: &App, secret: &str, refresh_token: &str) -> (StatusCode, Value) {
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

async fn userinfo(app: &App, access: &str) -> (StatusCode, Value) {
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
async fn verify_id_token(app: &App, jwt: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["gazd"]);
    validation.set_issuer(&[app.kapu.config().public_url.as_str()]);
    crate::mailbox::verify_with(app, jwt, &validation).await
}

/// `gazd` contracted to the central tenant, with a user holding one of its roles.
async fn setup(app: &App, state: &str) -> (String, String) {
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
    let (s, _) = page(&b, &app, &login).await;
    assert_eq!(s, StatusCode::OK);
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
    // A suspended service takes no logins, and its tokens are not exchanged.
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services/gazd/client/state",
            json!({"state": "suspended"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let back = authorize(&app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("unauthorized_client")
    );
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

async fn a_deputys_token_names_the_principal_and_ends_with_the_substitution(app: App) {
    let admin = gazd_service(&app).await;
    let tata = app.tenant_with_admin("tata").await;
    contract(&app, &admin, "tata", json!(["gazd"])).await;
    app.user(&tata, "tata", "fo.nok", PW).await;
    app.user(&tata, "tata", "hely.ettes", PW).await;
    set_rights(
        &app,
        &tata,
        "tata",
        "fo.nok",
        json!({"roles": ["gazd.konyvelo", "gazd.penztaros"]}),
    )
    .await;
    let (s, sub) = app
        .send(
            "POST",
            &tata,
            "/api/v1/tenants/tata/substitutions",
            json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let secret = client(&app, &admin, "gazd", "confidential", "production")
        .await
        .unwrap();
    let b = browser();
    let (s, to, _) = log_in(&b, &app, "hely.ettes@tata", PW, "normal").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/login/identity"));
    let (_, html) = page(&b, &app, "/login/identity").await;
    let choice: String = html
        .split("name=\"act_for\" value=\"")
        .nth(2)
        .unwrap()
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let (s, _, _) = post(
        &b,
        &app,
        "/login/identity",
        &[("csrf", &csrf_of(&html)), ("act_for", &choice)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (verifier, challenge) = pkce("d");
    let back = authorize(&app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    let code = param(&back, "code").unwrap();
    let (s, t) = exchange(&app, &secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = verify_id_token(&app, t["id_token"].as_str().unwrap()).await;
    assert_eq!(id["preferred_username"], "fo.nok@tata");
    assert_eq!(
        id["roles"],
        json!(["konyvelo"]),
        "only the substituted roles"
    );
    assert_eq!(id["act"]["name"], "Teszt hely.ettes");
    assert!(id["act"]["sub"].is_string());
    assert_ne!(id["act"]["sub"], id["sub"]);
    // While the substitution lasts, refresh works; once it is gone, it is refused.
    let (s, t) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, _) = app
        .send(
            "DELETE",
            &tata,
            &format!(
                "/api/v1/tenants/tata/substitutions/{}",
                sub["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
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
async fn signed_in(app: &App, secret: &str, seed: &str) -> (Client, Value) {
    let b = browser();
    log_in(&b, app, "ugyfel@kozpont", PW, "normal").await;
    let (verifier, challenge) = pkce(seed);
    let back = authorize(app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
    let code = param(&back, "code").unwrap();
    let (s, t) = exchange(app, secret, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    (b, t)
}

async fn introspect(app: &App, auth: (&str, &str), token: &str) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url("/oauth2/introspect"))
        .basic_auth(auth.0, Some(auth.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_client_introspects_and_revokes_its_own_tokens(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let (_, t) = signed_in(&app, &secret, "e").await;
    let access = t["access_token"].as_str().unwrap();
    let refresh_token = t["refresh_token"].as_str().unwrap();
    let (s, i) = introspect(&app, ("gazd", &secret), access).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (i["active"].clone(), i["token_type"].clone()),
        (json!(true), json!("access_token")),
        "{i}"
    );
    assert_eq!(i["client_id"], "gazd");
    let (_, i) = introspect(&app, ("gazd", &secret), refresh_token).await;
    assert_eq!(
        (i["active"].clone(), i["token_type"].clone()),
        (json!(true), json!("refresh_token")),
        "{i}"
    );
    let (s, _) = introspect(&app, ("gazd", "rossz"), access).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Another client learns nothing of gazd's tokens, and cannot revoke them.
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/services",
            json!({"code": "harmadik", "name": "H", "launch_url": "https://h.example.hu/"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let other = client(&app, &admin, "harmadik", "confidential", "production")
        .await
        .unwrap();
    let (_, i) = introspect(&app, ("harmadik", &other), access).await;
    assert_eq!(i, json!({"active": false}));
    let revoke = |id: &'static str, secret: String, token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/oauth2/revoke"))
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        revoke("harmadik", other.clone(), refresh_token.to_string()).await,
        StatusCode::OK
    );
    assert_eq!(
        introspect(&app, ("gazd", &secret), access).await.1["active"],
        true
    );
    // Its own client revokes it: the whole grant ends.
    assert_eq!(
        revoke("gazd", secret.clone(), refresh_token.to_string()).await,
        StatusCode::OK
    );
    assert_eq!(
        introspect(&app, ("gazd", &secret), access).await.1["active"],
        false
    );
    assert_eq!(userinfo(&app, access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoke("gazd", secret.clone(), "ismeretlen".into()).await,
        StatusCode::OK
    );
}

/// A service's back-channel logout address, run in the test: it keeps what it is sent.
async fn logout_listener() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let router = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(
            move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                let kept = kept.clone();
                async move {
                    kept.lock()
                        .unwrap()
                        .push(f.get("logout_token").cloned().unwrap_or_default());
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "http://127.0.0.1:{}/backchannel",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (uri, seen)
}

async fn logging_out_ends_the_services_sessions(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let (backchannel, seen) = logout_listener().await;
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu",
                   "post_logout_redirect_uris": ["https://gazd.example.hu/bye"], "backchannel_logout_uri": backchannel}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (b, t) = signed_in(&app, &secret, "f").await;
    let id = verify_id_token(&app, t["id_token"].as_str().unwrap()).await;
    // With the ID token of this very session: out at once, and back to a registered address.
    let url = format!(
        "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}&state=viszlat",
        t["id_token"].as_str().unwrap(),
        urlencode("https://gazd.example.hu/bye")
    );
    let r = b.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "https://gazd.example.hu/bye?state=viszlat"
    );
    let (s, _) = page(&b, &app, "/profile").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the Kapu session is over");
    let (s, _) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "so is the service's grant");
    let mut token = None;
    for _ in 0..100 {
        if let Some(t) = seen.lock().unwrap().first().cloned() {
            token = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = token.expect("a logout token reached the service");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["gazd"]);
    let claims = crate::mailbox::verify_with(&app, &token, &validation).await;
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["sub"], id["sub"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    // Without a hint the person confirms; an address nobody registered is not followed.
    let (b, _) = signed_in(&app, &secret, "g").await;
    let url = format!(
        "/oauth2/logout?client_id=gazd&post_logout_redirect_uri={}",
        urlencode("https://evil.example.com/")
    );
    let (s, html) = page(&b, &app, &url).await;
    assert_eq!(s, StatusCode::OK);
    let (s, to, _) = post(
        &b,
        &app,
        "/oauth2/logout",
        &[
            ("csrf", &csrf_of(&html)),
            ("client_id", "gazd"),
            ("post_logout_redirect_uri", "https://evil.example.com/"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
}

async fn a_person_disconnects_a_service_from_the_profile(app: App) {
    let (_, secret) = setup(&app, "production").await;
    let (b, t) = signed_in(&app, &secret, "h").await;
    let (s, html) = page(&b, &app, "/profile/services").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Gazdálkodás"), "{html}");
    let (s, to, _) = post(
        &b,
        &app,
        "/profile/services/gazd/disconnect",
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/profile/services")
    );
    let (s, _) = refresh(&app, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the service's grant ended");
    // The next login asks for consent again.
    let (_, challenge) = pkce("h");
    let (s, html) = page(&b, &app, &authorize_url("gazd", Some(&challenge), "")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Hozzájárulás"));
    let token = app.login("ugyfel@kozpont", PW, "normal").await;
    let (s, list) = app.get(&token, "/api/v1/me/services").await;
    assert_eq!((s, list), (StatusCode::OK, json!([])));
    let (s, _) = app
        .send("DELETE", &token, "/api/v1/me/services/gazd", Value::Null)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

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
    // A requested service takes no logins.
    let b = browser();
    log_in(&b, &app, "sima@hivatal", PW, "normal").await;
    let (_, challenge) = pkce("i");
    let url = format!(
        "/oauth2/authorize?response_type=code&client_id=viz&redirect_uri={}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        urlencode("https://viz.example.hu/cb")
    );
    let back = authorize(&app, &b, &url).await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("unauthorized_client")
    );
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

/// A client key (ES256) and its public JWK.
fn client_key(seed: &str) -> (jsonwebtoken::EncodingKey, Value) {
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = sha2::Sha256::digest(format!("client key {seed}").as_bytes());
    let key = p256::ecdsa::SigningKey::from_slice(&secret).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let b = point.as_bytes();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64.encode(&b[1..33]), "y": b64.encode(&b[33..65]),
                     "kid": seed, "alg": "ES256", "use": "sig"});
    (jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()), jwk)
}

fn assertion(key: &jsonwebtoken::EncodingKey, kid: &str, aud: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &json!({"iss": "gazd", "sub": "gazd", "aud": aud, "iat": now, "exp": now + 60, "jti": jti}),
        key,
    )
    .unwrap()
}

async fn a_client_authenticates_with_a_signed_assertion(app: App) {
    let (admin, _) = setup(&app, "production").await;
    let (key, jwk) = client_key("k1");
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu",
                   "jwks": {"keys": [jwk]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, e) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "x", "jwks": {"keys": "no"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let aud = format!("{}/oauth2/token", app.kapu.config().public_url);
    let b = browser();
    log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    let (verifier, challenge) = pkce("k");
    let code = || {
        let (app, b, challenge) = (&app, &b, challenge.clone());
        async move {
            let back = authorize(app, b, &authorize_url("gazd", Some(&challenge), "")).await;
            param(&back, "code").unwrap()
        }
    };
    let exchange_with = |code: String, assertion: String| {
        let (app, verifier) = (&app, verifier.clone());
        async move {
            token(
                app,
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let signed = assertion(&key, "k1", &aud, "egy");
    let (s, t) = exchange_with(code().await, signed.clone()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // The same assertion again, a stranger's key, or another audience: not this client.
    let (s, e) = exchange_with(code().await, signed).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (other, _) = client_key("k2");
    let (s, _) = exchange_with(code().await, assertion(&other, "k1", &aud, "ketto")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = exchange_with(
        code().await,
        assertion(&key, "k1", "https://other.example/token", "harom"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, t) = exchange_with(code().await, assertion(&key, "k1", &aud, "negy")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
}

async fn a_client_that_knows_only_rs256_gets_rs256_id_tokens(app: App) {
    let (admin, secret) = setup(&app, "production").await;
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu",
                   "id_token_signed_response_alg": "RS256"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["client"]["id_token_signed_response_alg"], "RS256");
    let rs256 = |app: &App| {
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["gazd"]);
        v.set_issuer(&[app.kapu.config().public_url.as_str()]);
        v
    };
    let (_, t) = signed_in(&app, &secret, "r").await;
    let first = t["id_token"].as_str().unwrap().to_string();
    assert_eq!(
        jsonwebtoken::decode_header(&first).unwrap().alg,
        jsonwebtoken::Algorithm::RS256
    );
    let id = crate::mailbox::verify_with(&app, &first, &rs256(&app)).await;
    assert_eq!(id["preferred_username"], "ugyfel@kozpont");
    // A rotation makes a new RSA key too; the old one stays published.
    app.kapu.keys().rotate(app.kapu.now()).await.unwrap();
    let (_, t) = signed_in(&app, &secret, "s").await;
    let second = t["id_token"].as_str().unwrap().to_string();
    let (k1, k2) = (
        jsonwebtoken::decode_header(&first).unwrap().kid,
        jsonwebtoken::decode_header(&second).unwrap().kid,
    );
    assert_ne!(k1, k2);
    crate::mailbox::verify_with(&app, &second, &rs256(&app)).await;
    crate::mailbox::verify_with(&app, &first, &rs256(&app)).await;
    // The ID token of an RS256 client still serves as a logout hint.
    let (b, t) = signed_in(&app, &secret, "u").await;
    let r = b
        .get(app.url(&format!(
            "/oauth2/logout?id_token_hint={}",
            t["id_token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "logged out at once, no confirmation"
    );
}

/// `client_secret_post`, and pairwise subjects: one stable identifier per service, not the
/// user's own id.
async fn secrets_in_the_form_and_pairwise_subjects(app: App) {
    let (admin, _) = setup(&app, "production").await;
    let (s, c) = app
        .send(
            "PUT",
            &admin,
            "/api/v1/services/gazd/client",
            json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "it@gazd.example.hu",
                   "subject_type": "pairwise"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let secret = app
        .send(
            "POST",
            &admin,
            "/api/v1/services/gazd/client/secret",
            Value::Null,
        )
        .await
        .1["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let b = browser();
    log_in(&b, &app, "ugyfel@kozpont", PW, "normal").await;
    let mut subs = Vec::new();
    for seed in ["p", "q"] {
        let (verifier, challenge) = pkce(seed);
        let back = authorize(&app, &b, &authorize_url("gazd", Some(&challenge), "")).await;
        let code = param(&back, "code").unwrap();
        let (s, t) = token(
            &app,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", "gazd"),
                ("client_secret", &secret),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        subs.push(verify_id_token(&app, t["id_token"].as_str().unwrap()).await["sub"].clone());
    }
    assert_eq!(subs[0], subs[1], "stable");
    let token_me = app.login("ugyfel@kozpont", PW, "normal").await;
    let (_, me) = app.get(&token_me, "/api/v1/me").await;
    assert_ne!(subs[0], me["id"], "not the user's own id: {me}");
    assert_eq!(subs[0].as_str().unwrap().len(), 64);
}

both!(
    secrets_in_the_form_and_pairwise_subjects,
    a_client_that_knows_only_rs256_gets_rs256_id_tokens,
    a_client_authenticates_with_a_signed_assertion,
    the_pages_file_review_and_move_a_request,
    a_service_can_ask_for_a_fresh_or_stronger_login,
    a_tenant_requests_a_service_and_the_centre_moves_it_to_production,
    a_person_disconnects_a_service_from_the_profile,
    a_client_introspects_and_revokes_its_own_tokens,
    logging_out_ends_the_services_sessions,
);

both!(
    a_service_logs_a_user_in_with_a_code_and_pkce,
    bad_requests_get_no_code,
    a_deputys_token_names_the_principal_and_ends_with_the_substitution,
    discovery_names_the_endpoints,
);
