//! Users of a tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::identity::Page;
use kapu_core::identity::users::{NewUser, StatusFilter, User, UserChanges};
use kapu_core::{Error, Kapu};
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::{
    Conflict, Forbidden, Internal, ListParams, NotFound, Unauthorized, Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

/// List a tenant's users, as JSON or CSV.
#[utoipa::path(get, path = "/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path), ListParams),
    responses((status = 200, description = "A page of users", content(
        (Page<User> = "application/json"),
        (String = "text/csv"))),
        Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let status = StatusFilter::parse(p.status.as_deref().unwrap_or(""))
        .ok_or_else(|| Error::field("status", "list.bad_status"))?;
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_users(&actor, &tenant, &q, status).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "users",
            exports::users(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(
        kapu.list_users(&actor, &tenant, &p.paging(), status)
            .await?,
    )
    .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct UserCreateBody {
    /// `[a-z0-9]` segments joined by dots; fixed forever and never reused.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[a-z0-9]+(\\.[a-z0-9]+)*$"
    )]
    login: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    full_name: String,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 254, format = Email)]
    email: String,
}

impl From<UserCreateBody> for NewUser {
    fn from(b: UserCreateBody) -> Self {
        NewUser {
            login: b.login,
            full_name: b.full_name,
            email: b.email,
        }
    }
}

/// Create a user; an activation link is mailed to them.
#[utoipa::path(post, path = "/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path)), request_body = UserCreateBody,
    responses((status = 201, body = User), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<UserCreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewUser::from(b);
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_user(&actor, &tenant, &input).await?),
    ))
}

/// Read a user.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{login}", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 200, body = User), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_user(&actor, &tenant, &login).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateBody {
    #[schema(min_length = 1, max_length = 200)]
    full_name: Option<String>,
    #[schema(min_length = 3, max_length = 254, format = Email)]
    email: Option<String>,
    /// Accepted only unchanged: a login name is fixed forever.
    #[schema(max_length = 64)]
    login: Option<String>,
}

/// Change a user's name or e-mail address.
#[utoipa::path(patch, path = "/tenants/{tenant}/users/{login}", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = User), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn update(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
    ApiJson(b): ApiJson<UpdateBody>,
) -> Result<impl IntoResponse, ApiError> {
    if b.login.as_deref().is_some_and(|l| l != login) {
        return Err(Error::field("login", "user.login_fixed").into());
    }
    let changes = UserChanges {
        full_name: b.full_name,
        email: b.email,
    };
    Ok(Json(
        kapu.update_user(&actor, &tenant, &login, &changes).await?,
    ))
}

/// Lock a user administratively; their sessions end.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/lock", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 200, body = User), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn lock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_user_locked(&actor, &tenant, &login, true).await?,
    ))
}

/// Unlock a user (lifts a temporary lock too).
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/unlock", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 200, body = User), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn unlock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_user_locked(&actor, &tenant, &login, false).await?,
    ))
}

/// Delete a user (soft: the login name is never reused).
#[utoipa::path(delete, path = "/tenants/{tenant}/users/{login}", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn remove(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_user(&actor, &tenant, &login).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// Must meet the tenant's password rules; the user must change it at next login.
    #[schema(max_length = 256, format = Password)]
    password: String,
}

/// Set a user's password as an administrator.
#[utoipa::path(put, path = "/tenants/{tenant}/users/{login}/password", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)), request_body = PasswordBody,
    responses((status = 204, description = "Set"), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn set_password(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    kapu.admin_set_password(&actor, &tenant, &login, &b.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a new activation link to a user who has not activated yet.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{login}/activation-link", tag = "users",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 202, description = "A new link is on its way"), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn resend_activation(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.resend_activation(&actor, &tenant, &login).await?;
    Ok(StatusCode::ACCEPTED)
}
