//! Two-factor login through the pages: enrolment on the profile page shows the QR code and,
//! once, the recovery codes; the login has a page for its second step.

use reqwest::StatusCode;

use crate::both;
use crate::harness::App;
use crate::second_factor::{PW, totp};

/// Enrolment on the profile page shows the QR code and, once, the
/// recovery codes; the login has a page for its second step.
async fn pages_enrol_a_factor_and_ask_for_it_after_the_password(app: App) {
    use crate::forms::{browser, csrf_of, log_in, page, post};
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "web.kati", PW).await;
    let b = browser();
    let (s, to, _) = log_in(&b, &app, "web.kati@kozpont", PW, "normal").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (s, html) = page(&b, &app, "/profile/factors").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/profile/factors/totp",
        &[("csrf", &csrf), ("password", "rossz")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("aria-invalid=\"true\""));
    let (s, _, html) = post(
        &b,
        &app,
        "/profile/factors/totp",
        &[("csrf", &csrf), ("password", PW)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // The QR code is markup of the page (the policy allows no data: images); the key is
    // shown in groups of four; the code field asks for digits.
    assert!(html.contains("<div class=\"qr\" role=\"img\"") && html.contains("<svg"));
    assert!(!html.contains("data:image"));
    assert!(
        html.contains("inputmode=\"numeric\"") && html.contains("autocomplete=\"one-time-code\"")
    );
    let secret: String = html
        .split("<code class=\"key\">")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != '<')
        .collect();
    assert_eq!(secret.split(' ').next().unwrap().len(), 4, "{secret}");
    let secret = secret.replace(' ', "");
    let id: String = html
        .split("name=\"id\" value=\"")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let code = totp(&app, &secret, 0);
    let (s, _, html) = post(
        &b,
        &app,
        "/profile/factors/totp/confirm",
        &[("csrf", &csrf), ("id", &id), ("code", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(html.matches("<li><code>").count(), 10, "{html}");
    // A new login: password, then the second page.
    app.clock.advance(30_000);
    let b = browser();
    let (s, to, _) = log_in(&b, &app, "web.kati@kozpont", PW, "secure").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/login/second-factor")
    );
    let (s, html) = page(&b, &app, "/login/second-factor").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("value=\"recovery_code\""));
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/login/second-factor",
        &[("csrf", &csrf), ("method", "totp"), ("code", "000000")],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("id=\"code-error\""), "{html}");
    let code = totp(&app, &secret, 0);
    let (s, to, _) = post(
        &b,
        &app,
        "/login/second-factor",
        &[("csrf", &csrf), ("method", "totp"), ("code", &code)],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (s, _) = page(&b, &app, "/profile").await;
    assert_eq!(s, StatusCode::OK);
    // Without a challenge the second page sends back to the first.
    let (s, _) = page(&browser(), &app, "/login/second-factor").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}

both!(pages_enrol_a_factor_and_ask_for_it_after_the_password);
