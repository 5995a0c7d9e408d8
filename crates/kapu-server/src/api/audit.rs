//! The business log.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use kapu_core::Kapu;
use kapu_core::admin::audit_log::{AuditEntry, AuditQuery};
use kapu_core::identity::Page;
use kapu_core::platform::time_fmt::optional_instant;
use serde::Deserialize;
use utoipa::IntoParams;

use super::contract::{Forbidden, Internal, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiQuery};
use crate::error::ApiError;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// RFC 3339 time or `YYYY-MM-DD`.
    #[param(max_length = 40)]
    from: Option<String>,
    /// RFC 3339 time or `YYYY-MM-DD`.
    #[param(max_length = 40)]
    to: Option<String>,
    /// Tenant code (central log readers; others always see their own tenant).
    #[param(max_length = 40)]
    tenant: Option<String>,
    /// `name@tenant`: records where this user acted or was acted upon.
    #[param(max_length = 105)]
    user: Option<String>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1)]
    per_page: Option<i64>,
}

/// Search the business log.
#[utoipa::path(get, path = "/audit", tag = "audit", params(Params),
    responses((status = 200, body = Page<AuditEntry>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn search(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<impl IntoResponse, ApiError> {
    let q = AuditQuery {
        from: optional_instant("from", p.from.as_deref())?,
        to: optional_instant("to", p.to.as_deref())?,
        tenant: p.tenant.filter(|t| !t.is_empty()),
        user: p.user.filter(|u| !u.is_empty()),
        page: p.page,
        per_page: p.per_page,
    };
    Ok(Json(kapu.query_audit(&actor, &q).await?))
}
