//! Tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::Page;
use kapu_core::identity::tenants::{CreatedTenant, NewTenant, Tenant};
use kapu_core::identity::users::NewUser;
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::{
    Conflict, Forbidden, Internal, ListParams, NotFound, Unauthorized, Unprocessable,
};
use super::users::UserCreateBody as AdminBody;
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

/// List tenants (central administrators see all), as JSON or CSV.
#[utoipa::path(get, path = "/tenants", tag = "tenants", params(ListParams),
    responses((status = 200, description = "A page of tenants", content(
        (Page<Tenant> = "application/json"),
        (String = "text/csv"))),
        Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_tenants(&actor, &q).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "tenants",
            exports::tenants(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.list_tenants(&actor, &p.paging()).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct TenantCreateBody {
    /// Lower-case letters and digits, starting with a letter; fixed forever.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 40, pattern = "^[a-z][a-z0-9]*$")]
    code: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The tenant's primary user administrator; mailed an activation link.
    admin: AdminBody,
}

/// Create a tenant with its primary user administrator (central administrators, secure mode).
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = TenantCreateBody,
    responses((status = 201, body = CreatedTenant), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<TenantCreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewTenant {
        code: b.code,
        name: b.name,
        admin: NewUser::from(b.admin),
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_tenant(&actor, &input).await?),
    ))
}

/// Read a tenant.
#[utoipa::path(get, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)),
    responses((status = 200, body = Tenant), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_tenant(&actor, &code).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RenameBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// Rename a tenant (its code stays).
#[utoipa::path(patch, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)),
    request_body = RenameBody,
    responses((status = 200, body = Tenant), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn rename(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<RenameBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.rename_tenant(&actor, &code, &b.name).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct TestBody {
    /// A test tenant's users may log in to services still in their test state.
    test: bool,
}

/// Mark a tenant as a test tenant, or not. Central administrators, in secure mode.
#[utoipa::path(put, path = "/tenants/{tenant}/test", tag = "tenants", params(("tenant" = String, Path)),
    request_body = TestBody,
    responses((status = 200, body = Tenant), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn set_test(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<TestBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.set_tenant_test(&actor, &code, b.test).await?))
}
