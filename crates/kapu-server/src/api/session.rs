//! Login, logout, the caller, and password flows that need no administrator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kapu_core::identity::links::Purpose;
use kapu_core::identity::login::Identity;
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
    /// A deputy acting for a principal: the principal's `name@tenant`.
    #[serde(default)]
    act_for: Option<String>,
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
    let identity = match body.act_for.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Identity::ActFor(p),
        None => Identity::Own,
    };
    let r = kapu
        .login(&ctx, &body.login, &body.password, mode, identity)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": r.token,
            "session_id": r.session_id,
            "login": r.full_login,
            "full_name": r.full_name,
            "mode": r.mode,
            "acting_for": r.acting_for,
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
    let deputy = actor
        .deputy
        .as_ref()
        .map(|d| json!({"login": d.login, "full_name": d.full_name}));
    Ok(Json(json!({
        "id": actor.user_id,
        "login": actor.full_login(),
        "full_name": actor.full_name,
        "tenant": {"code": actor.tenant_code, "name": actor.tenant_name, "central": actor.central},
        "mode": actor.mode,
        "roles": actor.role_ids,
        "deputy": deputy,
        "password": password,
        "password_change_required": actor.restricted,
    })))
}

pub async fn my_roles(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": kapu.my_roles(&actor).await? })))
}

pub async fn my_substitutions(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.my_substitutions(&actor).await?))
}

pub async fn identity_choices(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({ "items": kapu.identity_choices(&actor).await? }),
    ))
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
