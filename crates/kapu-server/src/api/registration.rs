//! Citizens' own registration in the citizen tenant, confirmed by e-mail.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kapu_core::Kapu;
use kapu_core::identity::registration::{Registered, Registration};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiJson;
use super::contract::{Conflict, Gone, Internal, TooManyRequests, Unprocessable};
use crate::context::Ctx;
use crate::error::ApiError;

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    full_name: String,
    #[serde(default)]
    #[schema(max_length = 254)]
    email: String,
    /// The login name without the tenant (`kovacs.janos`); it becomes `kovacs.janos@ugyfelkapu`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    login: String,
    /// Must follow the password rules.
    #[serde(default)]
    #[schema(max_length = 256)]
    password: String,
}

/// Register as a citizen. A confirmation link goes to the e-mail address; the account can be
/// used once it is confirmed. Throttled per address (`registration_per_address_per_minute`).
#[utoipa::path(post, path = "/registrations", tag = "password", security(()), request_body = RegisterBody,
    responses((status = 202, body = Registered, description = "Registered; waiting for the e-mail confirmation"),
        Conflict, Unprocessable, TooManyRequests, Internal))]
pub async fn register(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(b): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = Registration {
        full_name: b.full_name,
        email: b.email,
        login: b.login,
        password: b.password,
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(kapu.register(&ctx, &input).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The token of the confirmation link.
    #[serde(default)]
    #[schema(max_length = 100)]
    token: String,
}

/// Confirm a registration's e-mail address with the token of the mailed link.
#[utoipa::path(post, path = "/registrations/verify", tag = "password", security(()), request_body = VerifyBody,
    responses((status = 200, body = Registered), Gone, Unprocessable, Internal))]
pub async fn verify(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(b): ApiJson<VerifyBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.verify_registration(&ctx, &b.token).await?))
}
