//! System variables.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use kapu_core::Kapu;
use serde::Deserialize;

use super::{ApiActor, ApiJson, ApiQuery};
use crate::error::ApiError;

#[derive(Deserialize)]
pub struct TenantParam {
    tenant: Option<String>,
}

pub async fn list(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<TenantParam>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "items": kapu.list_settings(&actor, p.tenant.as_deref()).await? }),
    ))
}

pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<TenantParam>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.get_setting(&actor, &name, p.tenant.as_deref()).await?,
    ))
}

#[derive(Deserialize)]
pub struct ValueBody {
    value: serde_json::Value,
}

/// Numbers and booleans may come as JSON values or as text.
fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn set_global(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(name): Path<String>,
    ApiJson(b): ApiJson<ValueBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_global_setting(&actor, &name, &value_text(&b.value))
            .await?,
    ))
}

pub async fn set_tenant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, name)): Path<(String, String)>,
    ApiJson(b): ApiJson<ValueBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_tenant_setting(&actor, &tenant, &name, Some(&value_text(&b.value)))
            .await?,
    ))
}

pub async fn clear_tenant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_tenant_setting(&actor, &tenant, &name, None)
            .await?,
    ))
}
