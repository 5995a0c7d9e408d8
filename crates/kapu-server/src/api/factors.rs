//! The caller's own second factors: an authenticator app (TOTP), security keys and
//! passkeys (WebAuthn), and recovery codes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kapu_core::Kapu;
use kapu_core::signon::factors::{Confirmed, MyFactors, TotpEnrolment};
use kapu_core::signon::webauthn::WebauthnEnrolment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::{
    Conflict, Forbidden, Gone, Internal, Locked, NotFound, TooManyRequests, Unauthorized,
    Unprocessable,
};
use super::{ApiJson, FactorActor};
use crate::error::ApiError;

/// The caller's second factors and how many recovery codes are left.
#[utoipa::path(get, path = "/me/factors", tag = "factors",
    responses((status = 200, body = MyFactors), Unauthorized, Forbidden, Internal))]
pub async fn mine(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
) -> Result<Json<MyFactors>, ApiError> {
    Ok(Json(kapu.my_factors(&actor).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordCheck {
    /// The caller's password, checked again before a factor changes.
    #[schema(max_length = 256, format = Password)]
    password: String,
}

/// Start enrolling an authenticator app: the answer carries the secret, its `otpauth://`
/// address and a QR code. It counts once a first code confirms it.
#[utoipa::path(post, path = "/me/factors/totp", tag = "factors",
    request_body = PasswordCheck,
    responses((status = 201, body = TotpEnrolment), Unauthorized, Forbidden, Conflict, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn begin_totp(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    ApiJson(body): ApiJson<PasswordCheck>,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    let enrolment = kapu.begin_totp(&actor, &body.password).await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// The app's current six digits.
    #[schema(max_length = 20)]
    code: String,
}

/// Confirm an enrolment with the app's first code. The first factor also brings ten
/// recovery codes, shown only in this answer.
#[utoipa::path(post, path = "/me/factors/totp/{id}/confirm", tag = "factors",
    params(("id" = String, Path)),
    request_body = CodeBody,
    responses((status = 200, body = Confirmed), Unauthorized, Forbidden, NotFound, Gone, Unprocessable, Internal))]
pub async fn confirm_totp(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<Confirmed>, ApiError> {
    Ok(Json(kapu.confirm_totp(&actor, &id, &body.code).await?))
}

/// Remove one of the caller's factors. Only a session opened with a second factor may.
#[utoipa::path(delete, path = "/me/factors/{id}", tag = "factors",
    params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn remove(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    kapu.remove_my_factor(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Shown only here; each works once, in place of the factor.
    codes: Vec<String>,
}

/// Replace the caller's recovery codes with ten new ones.
#[utoipa::path(post, path = "/me/factors/recovery-codes", tag = "factors",
    request_body = PasswordCheck,
    responses((status = 201, body = RecoveryCodes), Unauthorized, Forbidden, Conflict, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn recovery_codes(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    ApiJson(body): ApiJson<PasswordCheck>,
) -> Result<(StatusCode, Json<RecoveryCodes>), ApiError> {
    let codes = kapu
        .regenerate_recovery_codes(&actor, &body.password)
        .await?;
    Ok((StatusCode::CREATED, Json(RecoveryCodes { codes })))
}

#[derive(Deserialize, ToSchema)]
pub struct KeyBody {
    /// The caller's password, checked again before a factor changes.
    #[schema(max_length = 256, format = Password)]
    password: String,
    /// What the owner calls the device ("YubiKey 5", "laptop").
    #[schema(min_length = 1, max_length = 64)]
    name: String,
}

/// Start binding a security key or passkey: pass `options` to
/// `navigator.credentials.create()` and send its answer to `.../finish` within 5 minutes.
#[utoipa::path(post, path = "/me/factors/webauthn", tag = "factors",
    request_body = KeyBody,
    responses((status = 201, body = WebauthnEnrolment), Unauthorized, Forbidden, Conflict, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn begin_webauthn(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    ApiJson(body): ApiJson<KeyBody>,
) -> Result<(StatusCode, Json<WebauthnEnrolment>), ApiError> {
    let enrolment = kapu
        .begin_my_webauthn(&actor, &body.password, &body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

#[derive(Deserialize, ToSchema)]
pub struct CredentialBody {
    /// The `PublicKeyCredential` the browser gave, as JSON (`toJSON()`).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// Finish binding a key. A key bound to another user of the tenant is refused with
/// `device_bound`, naming that user. The first factor also brings ten recovery codes.
#[utoipa::path(post, path = "/me/factors/webauthn/{id}/finish", tag = "factors",
    params(("id" = String, Path)),
    request_body = CredentialBody,
    responses((status = 201, body = Confirmed), Unauthorized, Forbidden, NotFound, Conflict, Gone, Unprocessable, Internal))]
pub async fn finish_webauthn(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> Result<(StatusCode, Json<Confirmed>), ApiError> {
    let confirmed = kapu
        .finish_my_webauthn(&actor, &id, &body.credential)
        .await?;
    Ok((StatusCode::CREATED, Json(confirmed)))
}

#[derive(Deserialize, ToSchema)]
pub struct CertificateBody {
    /// The caller's password, checked again before a factor changes.
    #[schema(max_length = 256, format = Password)]
    password: String,
    /// What the certificate will be called in lists [default: its subject].
    #[schema(max_length = 64)]
    name: Option<String>,
}

/// Bind the client certificate this connection presents (Kapu's own TLS listener, or a
/// trusted proxy's header). A certificate bound to another user of the tenant is refused
/// with `device_bound`, naming that user.
#[utoipa::path(post, path = "/me/factors/certificate", tag = "factors",
    request_body = CertificateBody,
    responses((status = 201, body = Confirmed), Unauthorized, Forbidden, Conflict, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn bind_certificate(
    State(kapu): State<Kapu>,
    FactorActor(actor): FactorActor,
    ApiJson(body): ApiJson<CertificateBody>,
) -> Result<(StatusCode, Json<Confirmed>), ApiError> {
    let confirmed = kapu
        .bind_my_certificate(&actor, &body.password, body.name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(confirmed)))
}
