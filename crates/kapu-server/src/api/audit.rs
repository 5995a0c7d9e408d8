//! The business log.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use kapu_core::admin::audit_log::AuditQuery;
use kapu_core::platform::time_fmt::parse_instant;
use kapu_core::{Error, Kapu};
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

fn instant(field: &'static str, v: Option<&str>) -> Result<Option<i64>, Error> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_instant(s)
            .map(Some)
            .ok_or_else(|| Error::field(field, "query.bad_date")),
    }
}

pub async fn search(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<impl IntoResponse, ApiError> {
    let q = AuditQuery {
        from: instant("from", p.from.as_deref())?,
        to: instant("to", p.to.as_deref())?,
        tenant: p.tenant.filter(|t| !t.is_empty()),
        user: p.user.filter(|u| !u.is_empty()),
        page: p.page,
        per_page: p.per_page,
    };
    Ok(Json(kapu.query_audit(&actor, &q).await?))
}
