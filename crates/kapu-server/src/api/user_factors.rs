//! A user's factors for user maintainers: the devices bound, binding a security key with
//! the user present, removal, and the central administrators' temporary permits.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kapu_core::Kapu;
use kapu_core::admin::factor_statistics::FactorStatistics;
use kapu_core::platform::time_fmt;
use kapu_core::signon::factors::Confirmed;
use kapu_core::signon::permits::TemporaryPermit;
use kapu_core::signon::user_factors::UserFactors;
use kapu_core::signon::webauthn::WebauthnEnrolment;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{Conflict, Forbidden, Gone, Internal, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::error::ApiError;

type UserPath = Path<(String, String)>;

/// A user's factors, recovery codes left, and temporary permits.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{login}/factors", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 200, body = UserFactors), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn of_user(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): UserPath,
) -> Result<Json<UserFactors>, ApiError> {
    Ok(Json(kapu.user_factors(&actor, &tenant, &login).await?))
}

/// Remove a user's factor (a lost or returned device). User maintainers, in secure mode.
#[utoipa::path(delete, path = "/tenants/{tenant}/users/{login}/factors/{id}", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Removed"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn remove_of_user(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.remove_user_factor(&actor, &tenant, &login, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct BindBody {
    /// What the device will be called in lists.
    #[schema(min_length = 1, max_length = 64)]
    name: String,
}

/// Start binding a security key for a user who is present with it: the ceremony runs in
/// the maintainer's browser. User maintainers, in secure mode.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/factors/webauthn", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path)),
    request_body = BindBody,
    responses((status = 201, body = WebauthnEnrolment), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn begin_webauthn_for_user(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): UserPath,
    ApiJson(body): ApiJson<BindBody>,
) -> Result<(StatusCode, Json<WebauthnEnrolment>), ApiError> {
    let enrolment = kapu
        .begin_user_webauthn(&actor, &tenant, &login, &body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

#[derive(Deserialize, ToSchema)]
pub struct UserCredentialBody {
    /// The `PublicKeyCredential` the browser gave, as JSON.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// Finish binding a user's key. A key bound to another user of the tenant is refused with
/// `device_bound`, naming that user.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/factors/webauthn/{id}/finish", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path), ("id" = String, Path)),
    request_body = UserCredentialBody,
    responses((status = 201, body = Confirmed), Unauthorized, Forbidden, NotFound, Conflict, Gone, Unprocessable, Internal))]
pub async fn finish_webauthn_for_user(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login, id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<UserCredentialBody>,
) -> Result<(StatusCode, Json<Confirmed>), ApiError> {
    let confirmed = kapu
        .finish_user_webauthn(&actor, &tenant, &login, &id, &body.credential)
        .await?;
    Ok((StatusCode::CREATED, Json(confirmed)))
}

#[derive(Deserialize, ToSchema)]
pub struct UserCertificateBody {
    /// The user's certificate, PEM.
    #[schema(max_length = 20000)]
    certificate: String,
    /// What it will be called in lists [default: its subject].
    #[schema(max_length = 64)]
    name: Option<String>,
}

/// Bind a user's client certificate (PEM). User maintainers, in secure mode. A certificate
/// bound to another user of the tenant is refused with `device_bound`.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/factors/certificate", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path)),
    request_body = UserCertificateBody,
    responses((status = 201, body = Confirmed), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn bind_certificate_for_user(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): UserPath,
    ApiJson(body): ApiJson<UserCertificateBody>,
) -> Result<(StatusCode, Json<Confirmed>), ApiError> {
    let confirmed = kapu
        .bind_user_certificate(
            &actor,
            &tenant,
            &login,
            &body.certificate,
            body.name.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(confirmed)))
}

#[derive(Deserialize, ToSchema)]
pub struct PermitBody {
    /// 1 to 5, counted from now.
    #[schema(minimum = 1, maximum = 5)]
    days: i64,
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// Issue a temporary permit: the user passes the second step without a device until it
/// ends, is revoked, or the user logs in with a device. Central administrators only, in
/// secure mode; the user is told by e-mail.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/temporary-permits", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path)),
    request_body = PermitBody,
    responses((status = 201, body = TemporaryPermit), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn issue_permit(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): UserPath,
    ApiJson(body): ApiJson<PermitBody>,
) -> Result<(StatusCode, Json<TemporaryPermit>), ApiError> {
    let permit = kapu
        .issue_permit(&actor, &tenant, &login, body.days, &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(permit)))
}

/// Revoke a temporary permit before its end.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/temporary-permits/{id}/revoke", tag = "factors",
    params(("tenant" = String, Path), ("login" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = TemporaryPermit), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn revoke_permit(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login, id)): Path<(String, String, String)>,
) -> Result<Json<TemporaryPermit>, ApiError> {
    Ok(Json(
        kapu.revoke_permit(&actor, &tenant, &login, &id).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// RFC 3339 or `YYYY-MM-DD`; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; default now.
    to: Option<String>,
}

/// Second-factor statistics per tenant (FW-08): holders of each kind, logins with each
/// kind in the period, temporary permits in force.
#[utoipa::path(get, path = "/statistics/second-factors", tag = "statistics",
    params(PeriodQuery),
    responses((status = 200, body = FactorStatistics), Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn statistics(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Json<FactorStatistics>, ApiError> {
    let from = time_fmt::optional_instant("from", q.from.as_deref())?;
    let to = time_fmt::optional_instant("to", q.to.as_deref())?;
    Ok(Json(kapu.factor_statistics(&actor, from, to).await?))
}
