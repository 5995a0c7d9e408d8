//! Temporary permits over HTTP: only central administrators issue them, for 1 to 5 days
//! with a reason; the user is told by e-mail and passes the second step without the device;
//! the first login with a device ends the permit, and so can an administrator. Also the
//! second-factor statistics (FW-08).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{App, code};
use crate::second_factor::{PW, enrolled_user, totp};

const PERMITS: &str = "/api/v1/tenants/kozpont/users/elveszett/temporary-permits";

pub(crate) async fn second_step(app: &App, login: &str) -> Value {
    let r = app.login_raw(login, PW, "secure").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Answers a login's second step with a code of the app whose key is `secret`.
pub(crate) async fn with_code(app: &App, challenge: &Value, secret: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        "",
        "/api/v1/session/second-factor",
        json!({"challenge": challenge["challenge"], "method": "totp", "code": totp(app, secret, 0)}),
    )
    .await
}

pub(crate) async fn with_permit(app: &App, challenge: &Value) -> (StatusCode, Value) {
    app.send(
        "POST",
        "",
        "/api/v1/session/second-factor",
        json!({"challenge": challenge["challenge"], "method": "temporary_permit"}),
    )
    .await
}

async fn audit_count(app: &App, admin: &str, action: &str) -> usize {
    let (s, log) = app
        .get(
            admin,
            &format!("/api/v1/audit?per_page=100&action={action}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    log["items"].as_array().unwrap().len()
}

async fn a_permit_stands_in_for_a_lost_device_until_the_device_is_back(app: App) {
    let admin = app.admin().await;
    let (login, secret, _) = enrolled_user(&app, "elveszett").await;
    // Out of range, or without a reason, nothing is issued.
    for bad in [
        json!({"days": 6, "reason": "Elvesztette a telefonját"}),
        json!({"days": 0, "reason": "Elvesztette a telefonját"}),
        json!({"days": 2, "reason": "  "}),
    ] {
        let (s, e) = app.send("POST", &admin, PERMITS, bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    // A tenant's own administrator may not issue one, nor a central one in normal mode.
    let tenant_admin = app.tenant_with_admin("engedelyfalva").await;
    app.user(&tenant_admin, "engedelyfalva", "helyi", PW).await;
    let (s, _) = app
        .send(
            "POST",
            &tenant_admin,
            "/api/v1/tenants/engedelyfalva/users/helyi/temporary-permits",
            json!({"days": 1, "reason": "Elvesztette"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let normal = app
        .login(crate::harness::ADMIN, crate::harness::ADMIN_PW, "normal")
        .await;
    let (s, e) = app
        .send(
            "POST",
            &normal,
            PERMITS,
            json!({"days": 1, "reason": "Elvesztette"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "secure_mode_required")
    );

    let (s, p) = app
        .send(
            "POST",
            &admin,
            PERMITS,
            json!({"days": 2, "reason": "Elvesztette a telefonját"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["in_force"], true);
    assert_eq!(p["issued_by"], "admin@kozpont");
    let mail = app.mail_to("elveszett@kozpont.example", 2).await;
    assert!(mail.contains("ideiglenes enged"), "{mail}");
    let (s, e) = app
        .send(
            "POST",
            &admin,
            PERMITS,
            json!({"days": 1, "reason": "Még egy"}),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "conflict"));

    // The user passes the second step on the permit.
    let step = second_step(&app, &login).await;
    assert_eq!(
        step["factors"],
        json!(["totp", "recovery_code", "temporary_permit"])
    );
    let (s, ok) = with_permit(&app, &step).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["amr"], json!(["pwd", "permit"]));
    let (_, mine) = app
        .get(ok["token"].as_str().unwrap(), "/api/v1/me/factors")
        .await;
    assert!(
        mine["temporary_permit"]["valid_until"].is_string(),
        "{mine}"
    );

    // The first login with the device ends it.
    let step = second_step(&app, &login).await;
    let (s, ok) = with_code(&app, &step, &secret).await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    let (_, factors) = app
        .get(&admin, "/api/v1/tenants/kozpont/users/elveszett/factors")
        .await;
    let permit = &factors["temporary_permits"][0];
    assert_eq!(permit["in_force"], false, "{factors}");
    assert_eq!(permit["revoke_reason"], "device_login");
    let step = second_step(&app, &login).await;
    assert_eq!(step["factors"], json!(["totp", "recovery_code"]));
    let (s, e) = with_permit(&app, &step).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );

    // An administrator revokes a new one early; revoking it again is refused.
    let (_, p) = app
        .send(
            "POST",
            &admin,
            PERMITS,
            json!({"days": 1, "reason": "Újra elvesztette"}),
        )
        .await;
    let revoke = format!("{PERMITS}/{}/revoke", p["id"].as_str().unwrap());
    let (s, r) = app.send("POST", &admin, &revoke, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["in_force"].clone(), r["revoke_reason"].clone()),
        (json!(false), json!("administrator"))
    );
    let (s, _) = app.send("POST", &admin, &revoke, Value::Null).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let step = second_step(&app, &login).await;
    let (s, _) = with_permit(&app, &step).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A permit past its end passes nobody.
    let (s, _) = app
        .send(
            "POST",
            &admin,
            PERMITS,
            json!({"days": 1, "reason": "Harmadszor"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let step = second_step(&app, &login).await;
    app.minutes(24 * 60 + 1);
    let fresh = second_step(&app, &login).await;
    assert_eq!(fresh["factors"], json!(["totp", "recovery_code"]));
    let (s, _) = with_permit(&app, &fresh).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = with_permit(&app, &step).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Issue, use and revocation are in the business log (a day later: a new session).
    let admin = app.admin().await;
    assert_eq!(audit_count(&app, &admin, "permit.issue").await, 3);
    assert_eq!(audit_count(&app, &admin, "permit.use").await, 1);
    assert_eq!(audit_count(&app, &admin, "permit.revoke").await, 2);
}

async fn the_statistics_count_factors_logins_and_permits(app: App) {
    let admin = app.admin().await;
    let (login, secret, _) = enrolled_user(&app, "statisztika").await;
    let step = second_step(&app, &login).await;
    let (s, _) = with_code(&app, &step, &secret).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .send(
            "POST",
            &admin,
            "/api/v1/tenants/kozpont/users/statisztika/temporary-permits",
            json!({"days": 3, "reason": "Szervizben a telefon"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, stats) = app.get(&admin, "/api/v1/statistics/second-factors").await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let kozpont = stats["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "kozpont")
        .unwrap();
    assert_eq!(kozpont["with_totp"], 1, "{kozpont}");
    assert_eq!(kozpont["with_any_factor"], 1);
    assert_eq!(kozpont["with_webauthn"], 0);
    assert_eq!(kozpont["logins_with_totp"], 1);
    assert_eq!(kozpont["permits_in_force"], 1);
    // A period before the login counts none of it.
    let (s, old) = app
        .get(
            &admin,
            "/api/v1/statistics/second-factors?from=2000-01-01&to=2000-02-01",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(old["tenants"][0]["logins_with_totp"], 0, "{old}");
    let (s, _) = app
        .get(
            &admin,
            "/api/v1/statistics/second-factors?from=2000-02-01&to=2000-01-01",
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A plain user sees none of it.
    app.user(&admin, "kozpont", "sima", PW).await;
    let plain = app.login("sima@kozpont", PW, "normal").await;
    let (s, _) = app.get(&plain, "/api/v1/statistics/second-factors").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The maintainer's page of a user's devices: central administrators issue and revoke
/// permits there; a tenant's own maintainer sees the devices but no permit form.
async fn the_devices_page_issues_and_revokes_permits(app: App) {
    use crate::forms::{browser, csrf_of, log_in, page, post};
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "lapos", PW).await;
    let b = browser();
    log_in(
        &b,
        &app,
        crate::harness::ADMIN,
        crate::harness::ADMIN_PW,
        "secure",
    )
    .await;
    let path = "/admin/users/kozpont/lapos/factors";
    let (s, html) = page(&b, &app, path).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("action=\"/admin/users/kozpont/lapos/permits\""));
    let csrf = csrf_of(&html);
    let permits = "/admin/users/kozpont/lapos/permits";
    let (s, _, html) = post(
        &b,
        &app,
        permits,
        &[("csrf", &csrf), ("days", "9"), ("reason", "Elvesztette")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"days-error\""), "{html}");
    let (s, to, _) = post(
        &b,
        &app,
        permits,
        &[("csrf", &csrf), ("days", "3"), ("reason", "Elvesztette")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, path));
    let (_, html) = page(&b, &app, path).await;
    assert!(
        html.contains("Elvesztette") && html.contains("érvényes"),
        "{html}"
    );
    let id: String = html
        .split("/permits/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != '/')
        .collect();
    let (s, to, _) = post(
        &b,
        &app,
        &format!("{permits}/{id}/revoke"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, path));
    let (_, html) = page(&b, &app, path).await;
    assert!(html.contains("visszavonva"), "{html}");
    // A certificate bound from its PEM shows among the devices; junk is refused.
    let certificate = "/admin/users/kozpont/lapos/factors/certificate";
    let (s, _, html) = post(
        &b,
        &app,
        certificate,
        &[
            ("csrf", &csrf),
            ("certificate", "nem tanúsítvány"),
            ("name", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"certificate-error\""), "{html}");
    let pem = crate::certs::ClientCertificate::new("Lapos Lajos", false).cert;
    let (s, to, _) = post(
        &b,
        &app,
        certificate,
        &[("csrf", &csrf), ("certificate", &pem), ("name", "Kártya")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, path));
    let (_, html) = page(&b, &app, path).await;
    assert!(
        html.contains("Tanúsítvány") && html.contains("Kártya"),
        "{html}"
    );
    // The statistics page counts per tenant.
    let (s, html) = page(&b, &app, "/admin/statistics/second-factors").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Kétlépcsős azonosítás statisztikája"));

    // A tenant's maintainer: the devices, but no permits to issue.
    app.tenant_with_admin("lapfalva").await;
    app.user(&admin, "lapfalva", "helyi", PW).await;
    let t = browser();
    log_in(&t, &app, "fo.admin@lapfalva", "Tenant-Admin1", "secure").await;
    let (s, html) = page(&t, &app, "/admin/users/lapfalva/helyi/factors").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(!html.contains("/permits\""), "{html}");
    let (s, _) = page(&t, &app, path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

both!(
    a_permit_stands_in_for_a_lost_device_until_the_device_is_back,
    the_statistics_count_factors_logins_and_permits,
    the_devices_page_issues_and_revokes_permits,
);
