//! Technical users for user maintainers, and the machine door's login.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kapu_core::Kapu;
use kapu_core::identity::technical_users::{NewTechnicalUser, TechnicalPasswords, TechnicalUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::{
    Conflict, Forbidden, Internal, Items, Locked, NotFound, TooManyRequests, Unauthorized,
    Unprocessable,
};
use super::{ApiActor, ApiJson};
use crate::context::Ctx;
use crate::error::ApiError;

/// A tenant's technical users (user maintainers and rights administrators).
#[utoipa::path(get, path = "/tenants/{tenant}/technical-users", tag = "machine",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Items<TechnicalUser>), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
) -> Result<Json<Items<TechnicalUser>>, ApiError> {
    Ok(Json(Items::of(
        kapu.list_technical_users(&actor, &tenant).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct TechnicalUserBody {
    /// `GROUP:NAME`: upper-case letters, digits, `_` and `-`.
    #[schema(
        pattern = "^[A-Z0-9_-]{1,32}:[A-Z0-9_-]{1,32}$",
        example = "KONYV:IMPORT"
    )]
    id: String,
    #[schema(min_length = 1, max_length = 200)]
    description: String,
    /// The e-mail address of whoever answers for it.
    #[schema(max_length = 254)]
    contact: String,
    /// Allowed source networks (CIDR); empty or left out: any.
    #[serde(default)]
    #[schema(max_items = 50)]
    allowed_networks: Vec<String>,
}

/// Create a technical user (user maintainers, secure mode). Both passwords are made by Kapu
/// and are in this answer only.
#[utoipa::path(post, path = "/tenants/{tenant}/technical-users", tag = "machine",
    params(("tenant" = String, Path)), request_body = TechnicalUserBody,
    responses((status = 201, body = TechnicalPasswords), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<TechnicalUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewTechnicalUser {
        id: b.id,
        description: b.description,
        contact: b.contact,
        allowed_networks: b.allowed_networks,
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_technical_user(&actor, &tenant, &input).await?),
    ))
}

/// New login and signature passwords (user maintainers, secure mode), in this answer only;
/// the technical user's sessions end.
#[utoipa::path(post, path = "/tenants/{tenant}/technical-users/{id}/passwords", tag = "machine",
    params(("tenant" = String, Path), ("id" = String, Path, description = "`GROUP:NAME`")),
    responses((status = 200, body = TechnicalPasswords), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn reset(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<TechnicalPasswords>, ApiError> {
    Ok(Json(
        kapu.reset_technical_passwords(&actor, &tenant, &id).await?,
    ))
}

/// Lock a technical user (its sessions end).
#[utoipa::path(post, path = "/tenants/{tenant}/technical-users/{id}/lock", tag = "machine",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = TechnicalUser), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn lock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<TechnicalUser>, ApiError> {
    Ok(Json(
        kapu.set_technical_lock(&actor, &tenant, &id, true).await?,
    ))
}

/// Unlock a technical user (after wrong logins, or a lock).
#[utoipa::path(post, path = "/tenants/{tenant}/technical-users/{id}/unlock", tag = "machine",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = TechnicalUser), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn unlock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<TechnicalUser>, ApiError> {
    Ok(Json(
        kapu.set_technical_lock(&actor, &tenant, &id, false).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct MachineLoginBody {
    /// The tenant's code.
    #[schema(max_length = 40)]
    tenant: String,
    /// `GROUP:NAME`.
    #[schema(max_length = 65)]
    user_id: String,
    #[schema(max_length = 256, format = Password)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct MachineSession {
    /// Send as `Authorization: Bearer …`.
    token: String,
}

/// A technical user's login (the seed's `Login`): its networks and password, each attempt
/// counted before it is judged; `technical_lockout_threshold` (3) wrong ones in a row lock it
/// until a user maintainer unlocks it (423).
#[utoipa::path(post, path = "/machine/session", tag = "machine", request_body = MachineLoginBody,
    responses((status = 201, body = MachineSession), Unauthorized, Locked, TooManyRequests, Unprocessable, Internal))]
pub async fn login(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiJson(b): ApiJson<MachineLoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let session = kapu
        .machine_login(&ctx.0, &b.tenant, &b.user_id, &b.password)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MachineSession {
            token: session.token,
        }),
    ))
}
