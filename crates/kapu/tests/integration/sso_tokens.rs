//! Single sign-on tokens over HTTP: a deputy's token, introspection and revocation, logout reaching the
//! services, connected services, signed client assertions, RS256 ID tokens, secrets in the
//! form and pairwise subjects.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::access::{contract, gazd_service, set_rights};
use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::App;
use crate::sso::{
    PW, REDIRECT, authorize, authorize_url, client, exchange, first_principal, param, pkce,
    refresh, setup, signed_in, token, urlencode, userinfo, verify_id_token,
};

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
pub(crate) async fn logout_listener() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
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
    // The test's listener is on this machine, an internal address.
    crate::harness::set_global(&app.kapu, "sso_backchannel_private_networks", "true").await;
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
    // A client named beside the hint must be the hint's audience.
    let r = b
        .get(app.url(&format!(
            "/oauth2/logout?id_token_hint={}&client_id=masik&post_logout_redirect_uri={}",
            t["id_token"].as_str().unwrap(),
            urlencode("https://gazd.example.hu/bye")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
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
    // Its key is published before its first token: a client that reads the JWKS first
    // finds it.
    let r = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let jwks: serde_json::Value = r.json().await.unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kty"] == "RSA"),
        "{jwks}"
    );
    // A JSON body at the token endpoint is answered in OAuth's own terms.
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
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
    let choice = first_principal(&html);
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

both!(
    a_deputys_token_names_the_principal_and_ends_with_the_substitution,
    a_client_introspects_and_revokes_its_own_tokens,
    logging_out_ends_the_services_sessions,
    a_person_disconnects_a_service_from_the_profile,
    a_client_authenticates_with_a_signed_assertion,
    a_client_that_knows_only_rs256_gets_rs256_id_tokens,
    secrets_in_the_form_and_pairwise_subjects,
);
