//! A user's login devices for user maintainers: the factors bound, binding a security key
//! with the user present (secure mode), removal, and temporary permits (central
//! administrators).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::signon::webauthn::WebauthnEnrolment;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::factor_pages::{FactorRow, FinishForm, KeyEnrolment};
use super::frame::{Frame, local_time, render};
use super::session::{WebActor, check_csrf};
use super::table::{enc, error_page, frame};
use crate::context::Ctx;

struct PermitRow {
    id: String,
    until: String,
    reason: String,
    issued_by: String,
    state: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "user_factors.html")]
struct UserFactorsPage {
    f: Frame,
    tenant: String,
    login: String,
    full_login: String,
    factors: Vec<FactorRow>,
    codes_left: i64,
    permits: Vec<PermitRow>,
    key_enrolment: Option<KeyEnrolment>,
    /// Temporary permits are the centre's: the form shows to central users only.
    central: bool,
}

type UserPath = Path<(String, String)>;

fn back_to(tenant: &str, login: &str) -> Response {
    Redirect::to(&format!(
        "/admin/users/{}/{}/factors",
        enc(tenant),
        enc(login)
    ))
    .into_response()
}

/// After a change: back to the page, or the page with what went wrong.
async fn finish<T>(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    user: (&str, &str),
    result: kapu_core::Result<T>,
) -> Response {
    match result {
        Ok(_) => back_to(user.0, user.1),
        Err(e) => show(kapu, frame(ctx, actor), actor, user, None, Some(e)).await,
    }
}

async fn show(
    kapu: &Kapu,
    mut f: Frame,
    actor: &Actor,
    (tenant, login): (&str, &str),
    key: Option<WebauthnEnrolment>,
    error: Option<Error>,
) -> Response {
    let listed = match kapu.user_factors(actor, tenant, login).await {
        Ok(l) => l,
        Err(e) => return error_page(f, &e),
    };
    let status = match &error {
        Some(e) => f.fail(e),
        None => StatusCode::OK,
    };
    let t = f.t;
    let page = UserFactorsPage {
        tenant: tenant.to_string(),
        login: login.to_string(),
        full_login: listed.user,
        factors: listed
            .factors
            .into_iter()
            .map(|x| FactorRow::new(t, x))
            .collect(),
        codes_left: listed.recovery_codes_left,
        permits: listed
            .temporary_permits
            .into_iter()
            .map(|p| PermitRow {
                state: t
                    .t(if p.in_force {
                        "permits.in_force"
                    } else if p.revoked_at.is_some() {
                        "permits.revoked"
                    } else {
                        "permits.expired"
                    })
                    .to_string(),
                until: local_time(&p.valid_until),
                in_force: p.in_force,
                id: p.id,
                reason: p.reason,
                issued_by: p.issued_by,
            })
            .collect(),
        key_enrolment: key.map(KeyEnrolment::from),
        central: actor.central,
        f,
    };
    render(status, &page)
}

pub async fn page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): UserPath,
) -> Response {
    let f = frame(&ctx, &actor);
    show(&kapu, f, &actor, (&tenant, &login), None, None).await
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn begin_webauthn(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): UserPath,
    Form(form): Form<NameForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let f = frame(&ctx, &actor);
    let user = (tenant.as_str(), login.as_str());
    match kapu
        .begin_user_webauthn(&actor, &tenant, &login, &form.name)
        .await
    {
        Ok(e) => show(&kapu, f, &actor, user, Some(e), None).await,
        Err(e) => show(&kapu, f, &actor, user, None, Some(e)).await,
    }
}

pub async fn finish_webauthn(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): UserPath,
    Form(form): Form<FinishForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, form.csrf()) {
        return r.into_response();
    }
    let result = kapu
        .finish_user_webauthn(&actor, &tenant, &login, form.id(), &form.credential())
        .await;
    finish(&kapu, &ctx, &actor, (&tenant, &login), result).await
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
    Path((tenant, login, id)): Path<(String, String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = kapu.remove_user_factor(&actor, &tenant, &login, &id).await;
    finish(&kapu, &ctx, &actor, (&tenant, &login), result).await
}

#[derive(Deserialize)]
pub struct PermitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

pub async fn issue_permit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): UserPath,
    Form(form): Form<PermitForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    // Anything but a number is out of range.
    let days = form.days.trim().parse().unwrap_or(0);
    let result = kapu
        .issue_permit(&actor, &tenant, &login, days, &form.reason)
        .await;
    finish(&kapu, &ctx, &actor, (&tenant, &login), result).await
}

pub async fn revoke_permit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login, id)): Path<(String, String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = kapu.revoke_permit(&actor, &tenant, &login, &id).await;
    finish(&kapu, &ctx, &actor, (&tenant, &login), result).await
}

#[derive(Deserialize)]
pub struct CertificateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    certificate: String,
    #[serde(default)]
    name: String,
}

pub async fn bind_certificate(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): UserPath,
    Form(form): Form<CertificateForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = kapu
        .bind_user_certificate(&actor, &tenant, &login, &form.certificate, Some(&form.name))
        .await;
    finish(&kapu, &ctx, &actor, (&tenant, &login), result).await
}
