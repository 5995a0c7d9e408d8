//! Client certificates over Kapu's own TLS listener: binding the certificate a connection
//! presents, the one-to-one rule, a bound certificate as the second factor, the tenant rule
//! that wants one before any password, a maintainer's binding by PEM, and a reverse
//! proxy's header only where it is trusted.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::both_tls;
use crate::certs::ClientCertificate;
use crate::harness::{App, Backend, code, set_global};
use crate::second_factor::PW;

async fn send(
    app: &App,
    client: &Client,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = client.post(app.url(path)).json(&body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login(app: &App, client: &Client, login: &str) -> (StatusCode, Value) {
    send(
        app,
        client,
        "",
        "/api/v1/session",
        json!({"login": login, "password": PW, "mode": "secure"}),
    )
    .await
}

async fn a_bound_certificate_is_the_second_factor(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "tanus", PW).await;
    app.user(&admin, "kozpont", "masik", PW).await;
    let cert = ClientCertificate::new("Tanú Teréz", false);
    let with_cert = app.client(Some(&cert.identity()));
    // Without a certificate on the connection there is nothing to bind.
    let token = app.login("tanus@kozpont", PW, "normal").await;
    let (s, e) = send(
        &app,
        &app.http,
        &token,
        "/api/v1/me/factors/certificate",
        json!({"password": PW}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"), "{e}");
    let (s, e) = send(
        &app,
        &with_cert,
        &token,
        "/api/v1/me/factors/certificate",
        json!({"password": "rossz"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, c) = send(
        &app,
        &with_cert,
        &token,
        "/api/v1/me/factors/certificate",
        json!({"password": PW}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["factor"]["kind"], "certificate");
    assert!(
        c["factor"]["name"].as_str().unwrap().contains("Tanú Teréz"),
        "{c}"
    );

    // The certificate on the connection is the factor: no second step.
    let (s, ok) = login(&app, &with_cert, "tanus@kozpont").await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["amr"], json!(["pwd", "swk", "mfa"]));
    // Without it, the second step, which a certificate not bound to anyone cannot pass.
    let stranger = app.client(Some(&ClientCertificate::new("Idegen", false).identity()));
    let (s, step) = login(&app, &stranger, "tanus@kozpont").await;
    assert_eq!(s, StatusCode::OK, "{step}");
    assert_eq!(step["factors"], json!(["certificate", "recovery_code"]));
    let (s, e) = send(
        &app,
        &stranger,
        "",
        "/api/v1/session/second-factor",
        json!({"challenge": step["challenge"], "method": "certificate"}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );

    // One certificate, one user of the tenant.
    let other = app.login("masik@kozpont", PW, "normal").await;
    let (s, e) = send(
        &app,
        &with_cert,
        &other,
        "/api/v1/me/factors/certificate",
        json!({"password": PW}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "device_bound"), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Teszt tanus"),
        "{e}"
    );
    // An expired certificate is bound to no one.
    let expired = app.client(Some(&ClientCertificate::new("Lejárt", true).identity()));
    let (s, e) = send(
        &app,
        &expired,
        &other,
        "/api/v1/me/factors/certificate",
        json!({"password": PW}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

async fn a_tenant_can_want_a_certificate_before_any_password(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "szigoru", PW).await;
    let cert = ClientCertificate::new("Szigorú Szilárd", false);
    let with_cert = app.client(Some(&cert.identity()));
    // A maintainer binds the user's certificate from its PEM.
    let (s, e) = send(
        &app,
        &app.http,
        &admin,
        "/api/v1/tenants/kozpont/users/szigoru/factors/certificate",
        json!({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, c) = send(
        &app,
        &app.http,
        &admin,
        "/api/v1/tenants/kozpont/users/szigoru/factors/certificate",
        json!({"certificate": cert.cert, "name": "Hivatali tanúsítvány"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert!(c["recovery_codes"].is_null());
    set_global(&app.kapu, "client_certificate_required", "true").await;
    // Without the certificate the right password is not accepted; a wrong one is just wrong.
    let (s, e) = login(&app, &app.http, "szigoru@kozpont").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "client_certificate_required"),
        "{e}"
    );
    let (s, e) = send(
        &app,
        &app.http,
        "",
        "/api/v1/session",
        json!({"login": "szigoru@kozpont", "password": "Rossz-Jelszo1", "mode": "secure"}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let stranger = app.client(Some(&ClientCertificate::new("Idegen", false).identity()));
    let (s, _) = login(&app, &stranger, "szigoru@kozpont").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, ok) = login(&app, &with_cert, "szigoru@kozpont").await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    let (_, list) = app
        .get(&admin, "/api/v1/tenants/kozpont/users/szigoru/factors")
        .await;
    assert!(list["factors"][0]["last_used_at"].is_string(), "{list}");
    set_global(&app.kapu, "client_certificate_required", "false").await;
}

/// Behind a proxy: the configured header stands for the connection's certificate; where
/// no header is trusted, the same header is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_header_counts_only_where_trusted() {
    let cert = ClientCertificate::new("Proxy Piroska", false);
    let escaped: String = cert
        .cert
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    for trusted in [true, false] {
        let app = App::spawn_with(Backend::Sqlite, |c| {
            if trusted {
                c.trust_client_cert_header = Some("X-Client-Cert".into());
            }
        })
        .await;
        let admin = app.admin().await;
        app.user(&admin, "kozpont", "proxys", PW).await;
        let token = app.login("proxys@kozpont", PW, "normal").await;
        let r = app
            .http
            .post(app.url("/api/v1/me/factors/certificate"))
            .bearer_auth(&token)
            .header("X-Client-Cert", &escaped)
            .json(&json!({"password": PW}))
            .send()
            .await
            .unwrap();
        let expected = if trusted {
            StatusCode::CREATED
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(r.status(), expected, "trusted: {trusted}");
    }
}

both_tls!(
    a_bound_certificate_is_the_second_factor,
    a_tenant_can_want_a_certificate_before_any_password,
);
