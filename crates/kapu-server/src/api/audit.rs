//! The business log.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kapu_core::admin::audit_log::{AuditEntry, AuditQuery};
use kapu_core::identity::Page;
use kapu_core::platform::audit::Kind;
use kapu_core::platform::time_fmt::optional_instant;
use kapu_core::{Error, Kapu};
use serde::Deserialize;
use utoipa::IntoParams;

use super::contract::{Forbidden, Internal, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

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
    /// `central` (administrative changes), `login` or `communication` (e-mail).
    #[param(pattern = "^(central|login|communication)?$")]
    kind: Option<String>,
    /// E.g. `success`, `denied`, `wrong_password`.
    #[param(max_length = 60)]
    outcome: Option<String>,
    /// The event, e.g. `user.create`.
    #[param(max_length = 60)]
    action: Option<String>,
    /// `name@tenant` of whoever acted.
    #[param(max_length = 105)]
    actor: Option<String>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1)]
    per_page: Option<i64>,
    /// `csv` for a download instead of JSON.
    #[param(pattern = "^(json|csv)?$")]
    format: Option<String>,
    /// With `format=csv`: `1` for every recorded field.
    #[param(pattern = "^(0|1|true|false)?$")]
    detailed: Option<String>,
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Search the business log by time, tenant, user, kind, outcome, event and actor, as JSON or
/// CSV.
#[utoipa::path(get, path = "/audit", tag = "audit", params(Params),
    responses((status = 200, description = "A page of log records", content(
        (Page<AuditEntry> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn search(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let kind = match text(p.kind) {
        Some(k) => Some(Kind::parse(&k).ok_or_else(|| Error::field("kind", "audit.bad_kind"))?),
        None => None,
    };
    let csv = exports::wants_csv(p.format.as_deref(), p.detailed.as_deref());
    let q = AuditQuery {
        from: optional_instant("from", p.from.as_deref())?,
        to: optional_instant("to", p.to.as_deref())?,
        tenant: text(p.tenant),
        user: text(p.user),
        kind,
        outcome: text(p.outcome),
        action: text(p.action),
        actor: text(p.actor),
        page: p.page,
        per_page: p.per_page,
    };
    if let Some(detailed) = csv {
        let all = exports::all_audit(&kapu, &actor, &q).await?;
        return Ok(exports::csv_response(
            "audit",
            exports::audit(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.query_audit(&actor, &q).await?).into_response())
}
