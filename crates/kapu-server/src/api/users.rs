//! Users of a tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::identity::users::{NewUser, StatusFilter, UserChanges};
use kapu_core::{Error, Kapu};
use serde::Deserialize;

use super::tenants::ListParams;
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

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

#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
}

pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewUser {
        login: b.login,
        full_name: b.full_name,
        email: b.email,
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_user(&actor, &tenant, &input).await?),
    ))
}

pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_user(&actor, &tenant, &login).await?))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    full_name: Option<String>,
    email: Option<String>,
    /// Accepted only unchanged: a login name is fixed forever.
    login: Option<String>,
}

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

pub async fn lock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_user_locked(&actor, &tenant, &login, true).await?,
    ))
}

pub async fn unlock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_user_locked(&actor, &tenant, &login, false).await?,
    ))
}

pub async fn remove(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_user(&actor, &tenant, &login).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PasswordBody {
    password: String,
}

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

pub async fn resend_activation(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.resend_activation(&actor, &tenant, &login).await?;
    Ok(StatusCode::ACCEPTED)
}
