//! System variables.

use axum::Json;
use axum::extract::{Path, State};
use kapu_core::Kapu;
use kapu_core::platform::settings::SettingView;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{Forbidden, Internal, Items, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::error::ApiError;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantParam {
    /// Show the values as this tenant sees them (its overrides included).
    #[param(max_length = 40)]
    tenant: Option<String>,
}

/// Every system variable with its central, tenant and effective value.
#[utoipa::path(get, path = "/settings", tag = "settings", params(TenantParam),
    responses((status = 200, body = Items<SettingView>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<TenantParam>,
) -> Result<Json<Items<SettingView>>, ApiError> {
    Ok(Json(Items::of(
        kapu.list_settings(&actor, p.tenant.as_deref()).await?,
    )))
}

/// One system variable.
#[utoipa::path(get, path = "/settings/{name}", tag = "settings",
    params(("name" = String, Path), TenantParam),
    responses((status = 200, body = SettingView), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<TenantParam>,
) -> Result<Json<SettingView>, ApiError> {
    Ok(Json(
        kapu.get_setting(&actor, &name, p.tenant.as_deref()).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ValueBody {
    /// Text, or a JSON number or boolean; checked against the variable's type and bounds
    /// (durations as `90s`, `10m`, `24h`, `7d`; dates as `YYYY-MM-DD`).
    #[schema(schema_with = setting_value)]
    value: serde_json::Value,
}

/// A system variable's value as the request may carry it: text, a number or a boolean.
fn setting_value() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(4000)),
            )
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .build(),
    )
}

/// Numbers and booleans may come as JSON values or as text.
fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Set a variable's central value (central administrators, secure mode); tenant overrides of
/// it are overwritten.
#[utoipa::path(put, path = "/settings/{name}", tag = "settings",
    params(("name" = String, Path)), request_body = ValueBody,
    responses((status = 200, body = SettingView), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn set_global(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(name): Path<String>,
    ApiJson(b): ApiJson<ValueBody>,
) -> Result<Json<SettingView>, ApiError> {
    Ok(Json(
        kapu.set_global_setting(&actor, &name, &value_text(&b.value))
            .await?,
    ))
}

/// Set a tenant's own value of an overridable variable.
#[utoipa::path(put, path = "/tenants/{tenant}/settings/{name}", tag = "settings",
    params(("tenant" = String, Path), ("name" = String, Path)), request_body = ValueBody,
    responses((status = 200, body = SettingView), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn set_tenant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, name)): Path<(String, String)>,
    ApiJson(b): ApiJson<ValueBody>,
) -> Result<Json<SettingView>, ApiError> {
    Ok(Json(
        kapu.set_tenant_setting(&actor, &tenant, &name, Some(&value_text(&b.value)))
            .await?,
    ))
}

/// Drop a tenant's own value: the central value applies again.
#[utoipa::path(delete, path = "/tenants/{tenant}/settings/{name}", tag = "settings",
    params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = SettingView), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn clear_tenant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<SettingView>, ApiError> {
    Ok(Json(
        kapu.set_tenant_setting(&actor, &tenant, &name, None)
            .await?,
    ))
}
