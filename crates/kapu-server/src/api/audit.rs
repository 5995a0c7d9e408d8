//! The business log.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use kapu_core::Kapu;
use kapu_core::admin::audit_log::AuditQuery;
use kapu_core::platform::time_fmt::optional_instant;
use serde::Deserialize;

use super::{ApiActor, ApiQuery};
use crate::error::ApiError;

#[derive(Deserialize)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    tenant: Option<String>,
    user: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

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
