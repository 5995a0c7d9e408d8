//! The second page of a browser login: a security key (with the page's script), an
//! authenticator-app or recovery code, or a temporary permit.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::signon::second_step::{FactorAnswer, FactorKind, SecondFactorChallenge};
use kapu_core::{Error, Kapu};
use serde::Deserialize;

use super::frame::{Frame, render};
use super::login_pages::{frame_for, refused};
use super::session::{anon_csrf, check_anon_csrf, set_cookie, with_cookie};
use crate::context::{Ctx, cookie};

/// Holds the second step's challenge between the two login pages.
pub const CHALLENGE_COOKIE: &str = "kapu_challenge";

/// Where a correct password of a user with a factor goes: the second page, with the
/// challenge in a short-lived cookie.
pub(super) fn to_second_step(kapu: &Kapu, c: &SecondFactorChallenge) -> Response {
    (
        [set_cookie(kapu, CHALLENGE_COOKIE, &c.challenge, Some(300))],
        Redirect::to("/login/second-factor"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "second_step.html")]
struct SecondStepPage {
    f: Frame,
    method: String,
    totp: bool,
    recovery: bool,
    permit: bool,
    certificate: bool,
    /// The security key's request options (JSON), for the page's script.
    webauthn: Option<String>,
}

impl SecondStepPage {
    fn new(f: Frame, method: String, options: Option<SecondFactorChallenge>) -> Self {
        let has = |k| options.as_ref().is_some_and(|c| c.factors.contains(&k));
        SecondStepPage {
            totp: has(FactorKind::Totp),
            recovery: has(FactorKind::RecoveryCode),
            permit: has(FactorKind::TemporaryPermit),
            certificate: has(FactorKind::Certificate),
            webauthn: options
                .as_ref()
                .and_then(|c| c.webauthn.as_ref())
                .map(|w| w.to_string()),
            method,
            f,
        }
    }
}

pub async fn second_step_page(State(kapu): State<Kapu>, ctx: Ctx, headers: HeaderMap) -> Response {
    let Some(challenge) = cookie(&headers, CHALLENGE_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    let options = match kapu.challenge_options(challenge).await {
        Ok(o) => o,
        Err(Error::ChallengeInvalid) => return Redirect::to("/login").into_response(),
        Err(e) => return super::table::error_page(frame_for(&ctx, None, String::new()), &e),
    };
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let page = SecondStepPage::new(frame_for(&ctx, None, csrf), String::new(), Some(options));
    with_cookie(set, render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SecondStepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    /// The security key's answer, as the page's script put it.
    #[serde(default)]
    credential: String,
}

pub async fn second_step_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<SecondStepForm>,
) -> Response {
    if let Err(r) = check_anon_csrf(&kapu, &headers, &form.csrf) {
        return r.into_response();
    }
    let Some(challenge) = cookie(&headers, CHALLENGE_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    // Unreadable JSON is an answer like any wrong one.
    let credential = serde_json::from_str(&form.credential).unwrap_or_default();
    let result = match FactorAnswer::parse(&form.method, Some(&form.code), Some(&credential)) {
        Ok(a) => kapu.second_factor(&ctx.0, challenge, &a).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => {
            let mut resp = super::login_pages::logged_in(&kapu, &headers, &r);
            let (name, value) = set_cookie(&kapu, CHALLENGE_COOKIE, "", Some(0));
            resp.headers_mut().append(name, value);
            resp
        }
        Err(e) => {
            let options = kapu.challenge_options(challenge).await.ok();
            let mut page = SecondStepPage::new(
                frame_for(&ctx, None, form.csrf.clone()),
                form.method.clone(),
                options,
            );
            page.f.fail(&e);
            if matches!(e, Error::SecondFactorInvalid(_))
                && form.method != "webauthn"
                && let Some(first) = page.f.errors.items.first_mut()
            {
                first.0 = "code".into();
            }
            refused(&page, &e)
        }
    }
}
