//! Tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::ListQuery;
use kapu_core::identity::tenants::NewTenant;
use kapu_core::identity::users::NewUser;
use serde::Deserialize;

use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

#[derive(Deserialize, Default)]
pub struct ListParams {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    pub status: Option<String>,
    /// `csv` for a download instead of JSON.
    pub format: Option<String>,
    /// With `format=csv`: every recorded field, not just the visible columns.
    pub detailed: Option<String>,
}

impl ListParams {
    pub fn csv(&self) -> Option<bool> {
        crate::exports::wants_csv(self.format.as_deref(), self.detailed.as_deref())
    }

    pub fn paging(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            sort: self.sort.clone(),
            desc: self.order.as_deref() == Some("desc"),
            page: self.page,
            per_page: self.per_page,
        }
    }
}

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

#[derive(Deserialize)]
pub struct AdminBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    admin: AdminBody,
}

pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewTenant {
        code: b.code,
        name: b.name,
        admin: NewUser {
            login: b.admin.login,
            full_name: b.admin.full_name,
            email: b.admin.email,
        },
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_tenant(&actor, &input).await?),
    ))
}

pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_tenant(&actor, &code).await?))
}

#[derive(Deserialize)]
pub struct RenameBody {
    name: String,
}

pub async fn rename(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<RenameBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.rename_tenant(&actor, &code, &b.name).await?))
}
