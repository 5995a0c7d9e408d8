//! Login, logout, the caller, and password flows that need no administrator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kapu_core::identity::links::Purpose;
use kapu_core::{Error, Kapu, Mode};
use serde::Deserialize;
use serde_json::json;

use super::{AnyApiActor, ApiActor, ApiJson};
use crate::context::Ctx;
use crate::error::ApiError;

#[derive(Deserialize)]
pub struct LoginBody {
    login: String,
    password: String,
    #[serde(default)]
    mode: Option<String>,
}

pub(super) fn parse_mode(mode: Option<&str>) -> Result<Mode, Error> {
    match mode {
        None | Some("") => Ok(Mode::Normal),
        Some(m) => Mode::parse(m).ok_or_else(|| Error::field("mode", "mode.invalid")),
    }
}

pub async fn login(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mode = parse_mode(body.mode.as_deref())?;
    let r = kapu.login(&ctx, &body.login, &body.password, mode).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": r.token,
            "session_id": r.session_id,
            "login": r.full_login,
            "full_name": r.full_name,
            "mode": r.mode,
            "password": r.expiry,
            "password_change_required": r.password_change_required,
        })),
    ))
}

pub async fn logout(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<StatusCode, ApiError> {
    kapu.logout(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout_everywhere(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<impl IntoResponse, ApiError> {
    let n = kapu.logout_everywhere(&actor).await?;
    Ok(Json(json!({ "revoked_sessions": n })))
}

pub async fn me(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<impl IntoResponse, ApiError> {
    let password = kapu.password_state(&actor).await?;
    Ok(Json(json!({
        "id": actor.user_id,
        "login": actor.full_login(),
        "full_name": actor.full_name,
        "tenant": {"code": actor.tenant_code, "name": actor.tenant_name, "central": actor.central},
        "mode": actor.mode,
        "roles": actor.roles,
        "password": password,
        "password_change_required": actor.restricted,
    })))
}

#[derive(Deserialize)]
pub struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<StatusCode, ApiError> {
    kapu.change_own_password(&actor, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn silence_warning(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<StatusCode, ApiError> {
    kapu.silence_expiry_warning(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct LinkBody {
    token: String,
    password: String,
}

pub async fn activate(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    let t = kapu
        .complete_link(&ctx, &body.token, Purpose::Activation, &body.password)
        .await?;
    Ok(Json(json!({ "login": t.full_login })))
}

#[derive(Deserialize)]
pub struct ResetRequestBody {
    login: String,
}

pub async fn request_reset(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<StatusCode, ApiError> {
    kapu.request_password_reset(&ctx, &body.login).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn complete_reset(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    let t = kapu
        .complete_link(&ctx, &body.token, Purpose::PasswordReset, &body.password)
        .await?;
    Ok(Json(json!({ "login": t.full_login })))
}
