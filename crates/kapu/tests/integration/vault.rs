//! The shared two-factor vault over HTTP: entries and their codes (checked against Debian's
//! `oathtool`), bad keys and parameters, and other tenants that see nothing; and the office
//! every vault test starts from.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{ADMIN, App, skip};
use crate::mailbox::grant;

pub const PW: &str = "Kodtar-Jelszo1";
/// 160 bits, as Ügyfélkapu+ hands them out.
pub const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const RECOVERY: &str = "TORLO-KOD-4711-0815";

/// An accounting office: a vault administrator, two staff members and a group.
pub struct Office {
    pub admin: String,
    pub staff: String,
    pub lead: String,
    pub member: String,
}

/// Logs in (secure mode) and unlocks the vault with the password.
pub async fn open(app: &App, login: &str) -> String {
    let token = app.login(login, PW, "secure").await;
    let (s, b) = app
        .send(
            "POST",
            &token,
            "/api/v1/vault/unlock",
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["unlocked"], true, "{b}");
    token
}

pub async fn office(app: &App, tenant: &str) -> Office {
    let tenant_admin = app.tenant_with_admin(tenant).await;
    for login in ["fokonyvelo", "munkatars", "vezeto", "csoporttag"] {
        app.user(&tenant_admin, tenant, login, PW).await;
    }
    let central = app.admin().await;
    grant(
        app,
        &central,
        tenant,
        "fokonyvelo",
        &["kapu.vault_admin".to_string()],
    )
    .await;
    let (s, b) = app
        .send(
            "POST",
            &tenant_admin,
            &format!("/api/v1/tenants/{tenant}/groups"),
            json!({"code": "konyveles", "name": "Könyvelés", "members": ["csoporttag"], "roles": []}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    Office {
        admin: open(app, &format!("fokonyvelo@{tenant}")).await,
        staff: open(app, &format!("munkatars@{tenant}")).await,
        lead: open(app, &format!("vezeto@{tenant}")).await,
        member: open(app, &format!("csoporttag@{tenant}")).await,
    }
}

pub async fn entry(app: &App, token: &str, body: Value) -> Value {
    let (s, b) = app.send("POST", token, "/api/v1/vault/entries", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

/// Asks for an entry's code; its answer.
pub async fn reveal(app: &App, token: &str, id: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        token,
        &format!("/api/v1/vault/entries/{id}/code"),
        Value::Null,
    )
    .await
}

pub async fn delegate(app: &App, token: &str, path: &str, body: Value) {
    let (s, b) = app.send("POST", token, path, body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// `oathtool`'s code for a moment; `None` (after one skip line) where it is missing.
fn oathtool(secret: &str, algorithm: &str, digits: u8, period: u32, at: i64) -> Option<String> {
    let out = std::process::Command::new("oathtool")
        .args([
            &format!("--totp={algorithm}"),
            &format!("--digits={digits}"),
            &format!("--time-step-size={period}s"),
            "-b",
            secret,
            "--now",
            &format!("@{at}"),
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            Some(String::from_utf8(o.stdout).unwrap().trim().to_string())
        }
        _ => {
            skip(
                &crate::second_factor::OATHTOOL_MISSING,
                "the TOTP codes of an independent generator",
                "install Debian's oathtool (apt-get install oathtool)",
            );
            None
        }
    }
}

async fn codes_are_those_of_an_independent_generator(app: App) {
    let o = office(&app, "iroda").await;
    for (algorithm, digits, period) in [
        ("SHA1", 6, 30),
        ("SHA256", 8, 30),
        ("SHA512", 8, 60),
        ("SHA1", 8, 30),
        ("SHA256", 6, 45),
    ] {
        let e = entry(
            &app,
            &o.admin,
            json!({"client_name": format!("Ügyfél {algorithm} {digits}"), "issuer": "Ügyfélkapu+",
                   "account": "kiss.anna", "secret": "jbsw y3dp-ehpk 3pxp jbsw y3dp ehpk 3pxp",
                   "algorithm": algorithm, "digits": digits, "period": period}),
        )
        .await;
        let before = app.kapu.now() / 1000;
        let (s, c) = app
            .send(
                "POST",
                &o.admin,
                &format!("/api/v1/vault/entries/{}/code", e["id"].as_str().unwrap()),
                Value::Null,
            )
            .await;
        let after = app.kapu.now() / 1000;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["code"].as_str().unwrap().len(), digits as usize);
        assert_eq!(
            (c["digits"].as_u64(), c["period"].as_u64()),
            (Some(digits as u64), Some(period as u64))
        );
        let Some(at_before) = oathtool(SECRET, algorithm, digits, period, before) else {
            continue;
        };
        let at_after = oathtool(SECRET, algorithm, digits, period, after).unwrap();
        let shown = c["code"].as_str().unwrap();
        assert!(
            shown == at_before || shown == at_after,
            "{algorithm}/{digits}: {shown} vs {at_before}/{at_after}"
        );
        let moment = if shown == at_before { before } else { after };
        let next = oathtool(
            SECRET,
            algorithm,
            digits,
            period,
            moment + i64::from(period),
        )
        .unwrap();
        assert_eq!(c["next_code"], next.as_str(), "{algorithm}/{digits}");
        let left = c["seconds_left"].as_i64().unwrap();
        assert!(left >= 1 && left <= i64::from(period), "{left}");
    }
    // Bad keys and parameters are refused whole, naming every field.
    let (s, e) = app
        .send(
            "POST",
            &o.admin,
            "/api/v1/vault/entries",
            json!({"client_name": "", "secret": "JBSW1!", "digits": 9, "period": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["client_name", "secret", "digits", "period"]);
    let (s, e) = app
        .send(
            "POST",
            &o.admin,
            "/api/v1/vault/entries",
            json!({"client_name": "Rövid", "secret": "JBSWY3DP"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vault.secret_too_short")
        )
    );
}

async fn other_tenants_see_nothing(app: App) {
    let o = office(&app, "iroda").await;
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "secret": SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    let other = office(&app, "masik").await;
    for (method, path) in [
        ("GET", format!("/api/v1/vault/entries/{id}")),
        ("POST", format!("/api/v1/vault/entries/{id}/code")),
        ("POST", format!("/api/v1/vault/entries/{id}/secret")),
        ("GET", format!("/api/v1/vault/entries/{id}/log")),
        ("GET", format!("/api/v1/vault/entries/{id}/grants")),
        ("DELETE", format!("/api/v1/vault/entries/{id}")),
    ] {
        let (s, b) = app.send(method, &other.admin, &path, Value::Null).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {b}");
    }
    let (_, list) = app.get(&other.admin, "/api/v1/vault/entries").await;
    assert_eq!(list["total"], 0);
    // Not even the central administrator reads a tenant's vault.
    let central = app.login(ADMIN, crate::harness::ADMIN_PW, "secure").await;
    app.send(
        "POST",
        &central,
        "/api/v1/vault/unlock",
        json!({"password": crate::harness::ADMIN_PW}),
    )
    .await;
    let (s, _) = reveal(&app, &central, id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

both!(
    codes_are_those_of_an_independent_generator,
    other_tenants_see_nothing,
);
