//! The second step of a browser login, and the profile's second factors.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use kapu_core::signon::factors::TotpEnrolment;
use kapu_core::signon::login::LoginResult;
use kapu_core::signon::second_step::{FactorAnswer, FactorKind, SecondFactorChallenge};
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Frame, local_time, render};
use super::login_pages::{frame_for, next_after_login, refused};
use super::session::{
    SESSION_COOKIE, WebActor, anon_csrf, check_anon_csrf, check_csrf, set_cookie, with_cookie,
};
use crate::context::{Ctx, cookie};

/// Holds the second step's challenge between the two login pages.
pub const CHALLENGE_COOKIE: &str = "kapu_challenge";

/// Where a correct password of a user with a factor goes: the second page, with the
/// challenge in a short-lived cookie (and whether recovery codes are on offer).
pub(super) fn to_second_step(kapu: &Kapu, c: &SecondFactorChallenge) -> Response {
    let recovery = c.factors.contains(&FactorKind::RecoveryCode);
    let value = format!("{}.{}", c.challenge, u8::from(recovery));
    (
        [set_cookie(kapu, CHALLENGE_COOKIE, &value, Some(300))],
        Redirect::to("/login/second-factor"),
    )
        .into_response()
}

fn challenge_of(headers: &HeaderMap) -> Option<(&str, bool)> {
    let raw = cookie(headers, CHALLENGE_COOKIE)?;
    let (token, recovery) = raw.rsplit_once('.')?;
    Some((token, recovery == "1"))
}

#[derive(Template)]
#[template(path = "second_step.html")]
struct SecondStepPage {
    f: Frame,
    method: String,
    recovery: bool,
}

pub async fn second_step_page(State(kapu): State<Kapu>, ctx: Ctx, headers: HeaderMap) -> Response {
    let Some((_, recovery)) = challenge_of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let page = SecondStepPage {
        f: frame_for(&ctx, None, csrf),
        method: String::new(),
        recovery,
    };
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
    let Some((challenge, recovery)) = challenge_of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let answer = FactorAnswer::parse(&form.method, Some(&form.code), None);
    let result = match answer {
        Ok(a) => kapu.second_factor(&ctx.0, challenge, &a).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => logged_in(&kapu, &r),
        Err(e) => {
            let mut page = SecondStepPage {
                f: frame_for(&ctx, None, form.csrf.clone()),
                method: form.method.clone(),
                recovery,
            };
            page.f.fail(&e);
            if matches!(e, Error::SecondFactorInvalid)
                && let Some(first) = page.f.errors.items.first_mut()
            {
                first.0 = "code".into();
            }
            refused(&page, &e)
        }
    }
}

/// The session cookie set, the challenge cookie dropped, on to the page the login leads to.
fn logged_in(kapu: &Kapu, r: &LoginResult) -> Response {
    let mut resp = (
        [set_cookie(kapu, SESSION_COOKIE, &r.token, None)],
        Redirect::to(next_after_login(r)),
    )
        .into_response();
    let (name, value) = set_cookie(kapu, CHALLENGE_COOKIE, "", Some(0));
    resp.headers_mut().append(name, value);
    resp
}

struct FactorRow {
    id: String,
    kind: String,
    added: String,
    last_used: String,
}

struct Enrolment {
    id: String,
    secret: String,
    /// The QR code as a `data:` address (the page's policy allows images from it).
    qr: String,
}

#[derive(Template)]
#[template(path = "factors.html")]
struct FactorsPage {
    f: Frame,
    factors: Vec<FactorRow>,
    codes_left: i64,
    has_totp: bool,
    self_enrolment: bool,
    required: bool,
    enrol_only: bool,
    can_remove: bool,
    enrolment: Option<Enrolment>,
    new_codes: Vec<String>,
}

/// The profile's factor page, with what the last action produced, or its error.
async fn factors_page(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    enrolment: Option<TotpEnrolment>,
    new_codes: Vec<String>,
    error: Option<Error>,
) -> Response {
    let mut f = frame_for(ctx, Some(actor), actor.csrf.clone());
    let t = f.t;
    let mine = match kapu.my_factors(actor).await {
        Ok(m) => m,
        Err(e) => return super::table::error_page(f, &e),
    };
    let status = match &error {
        Some(e) => f.fail(e),
        None => StatusCode::OK,
    };
    let page = FactorsPage {
        has_totp: mine.factors.iter().any(|x| x.kind == FactorKind::Totp),
        factors: mine
            .factors
            .into_iter()
            .map(|x| FactorRow {
                id: x.id,
                kind: t.t("factors.totp").to_string(),
                added: local_time(&x.created_at),
                last_used: x
                    .last_used_at
                    .as_deref()
                    .map(local_time)
                    .unwrap_or_else(|| t.t("factors.never").to_string()),
            })
            .collect(),
        codes_left: mine.recovery_codes_left,
        self_enrolment: mine.self_enrolment || actor.enrol_only,
        required: mine.required_for_secure_mode,
        enrol_only: actor.enrol_only,
        can_remove: actor.amr.iter().any(|a| a == "mfa"),
        enrolment: enrolment.map(|e| Enrolment {
            qr: format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes())
            ),
            id: e.id,
            secret: e.secret,
        }),
        new_codes,
        f,
    };
    render(status, &page)
}

pub async fn factors(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    factors_page(&kapu, &ctx, &actor, None, Vec::new(), None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

pub async fn begin_totp(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.begin_totp(&actor, &form.password).await {
        Ok(e) => factors_page(&kapu, &ctx, &actor, Some(e), Vec::new(), None).await,
        Err(e) => factors_page(&kapu, &ctx, &actor, None, Vec::new(), Some(e)).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: String,
}

pub async fn confirm_totp(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.confirm_totp(&actor, &form.id, &form.code).await {
        Ok(c) => {
            // The session may have become a full one: read it again for the page.
            let mut actor = actor;
            if actor.enrol_only {
                actor.enrol_only = false;
                actor.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
            }
            let codes = c.recovery_codes.unwrap_or_default();
            factors_page(&kapu, &ctx, &actor, None, codes, None).await
        }
        Err(e) => factors_page(&kapu, &ctx, &actor, None, Vec::new(), Some(e)).await,
    }
}

pub async fn recovery_codes(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.regenerate_recovery_codes(&actor, &form.password).await {
        Ok(codes) => factors_page(&kapu, &ctx, &actor, None, codes, None).await,
        Err(e) => factors_page(&kapu, &ctx, &actor, None, Vec::new(), Some(e)).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn remove(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.remove_my_factor(&actor, &id).await {
        Ok(()) => Redirect::to("/profile/factors").into_response(),
        Err(e) => factors_page(&kapu, &ctx, &actor, None, Vec::new(), Some(e)).await,
    }
}
