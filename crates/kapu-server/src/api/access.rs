//! Services and contracts, groups, user rights and substitutions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::access::catalog::{RoleInput, ServiceInput};
use kapu_core::access::groups::GroupInput;
use kapu_core::access::substitutions::{
    SubstitutionChanges, SubstitutionFilter, SubstitutionInput,
};
use kapu_core::platform::time_fmt::optional_instant;
use serde::Deserialize;
use serde_json::json;

use super::tenants::ListParams;
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

#[derive(Deserialize, Default)]
pub struct RoleBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize, Default)]
pub struct ServiceBody {
    #[serde(default)]
    code: String,
    name: Option<String>,
    launch_url: Option<String>,
    #[serde(default)]
    roles: Vec<RoleBody>,
}

impl ServiceBody {
    fn parts(self, code: Option<String>) -> (ServiceInput, Vec<RoleInput>) {
        let roles = self
            .roles
            .into_iter()
            .map(|r| RoleInput {
                code: r.code,
                name: r.name,
                description: r.description,
            })
            .collect();
        (
            ServiceInput {
                code: code.unwrap_or(self.code),
                name: self.name,
                launch_url: self.launch_url,
            },
            roles,
        )
    }
}

pub async fn services(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_services(&actor, &q).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "services",
            exports::services(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.list_services(&actor, &p.paging()).await?).into_response())
}

/// Every role of every service: filtered, sorted, paged, or as CSV.
pub async fn roles(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_roles(&actor, &q).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "roles",
            exports::roles(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.list_roles(&actor, &p.paging()).await?).into_response())
}

pub async fn create_service(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<ServiceBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (input, roles) = b.parts(None);
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_service(&actor, &input, &roles).await?),
    ))
}

pub async fn service(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_service(&actor, &code).await?))
}

pub async fn update_service(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<ServiceBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (input, roles) = b.parts(Some(code.clone()));
    Ok(Json(
        kapu.update_service(&actor, &code, &input, &roles).await?,
    ))
}

pub async fn contract(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({ "items": kapu.tenant_services(&actor, &tenant).await? }),
    ))
}

#[derive(Deserialize)]
pub struct ContractBody {
    services: Vec<String>,
}

pub async fn set_contract(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<ContractBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({ "items": kapu.set_tenant_services(&actor, &tenant, &b.services).await? }),
    ))
}

pub async fn grantable(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let t = kapu.get_tenant(&actor, &tenant).await?;
    Ok(Json(json!({ "items": kapu.grantable_roles(&t.id).await? })))
}

#[derive(Deserialize, Default)]
pub struct GroupBody {
    #[serde(default)]
    code: String,
    name: Option<String>,
    members: Option<Vec<String>>,
    roles: Option<Vec<String>>,
}

impl From<GroupBody> for GroupInput {
    fn from(b: GroupBody) -> Self {
        GroupInput {
            code: b.code,
            name: b.name,
            members: b.members,
            roles: b.roles,
        }
    }
}

pub async fn groups(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_groups(&actor, &tenant, &q).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "groups",
            exports::groups(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.list_groups(&actor, &tenant, &p.paging()).await?).into_response())
}

pub async fn create_group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<GroupBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_group(&actor, &tenant, &b.into()).await?),
    ))
}

pub async fn group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_group(&actor, &tenant, &code).await?))
}

pub async fn update_group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, code)): Path<(String, String)>,
    ApiJson(b): ApiJson<GroupBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.update_group(&actor, &tenant, &code, &b.into()).await?,
    ))
}

pub async fn delete_group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_group(&actor, &tenant, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rights(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.user_rights(&actor, &tenant, &login).await?))
}

#[derive(Deserialize)]
pub struct RightsBody {
    roles: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

pub async fn set_rights(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
    ApiJson(b): ApiJson<RightsBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_user_rights(
            &actor,
            &tenant,
            &login,
            b.roles.as_deref(),
            b.groups.as_deref(),
        )
        .await?,
    ))
}

#[derive(Deserialize, Default)]
pub struct SubstitutionBody {
    #[serde(default)]
    deputy: String,
    #[serde(default)]
    principal: String,
    roles: Option<Vec<String>>,
    group: Option<String>,
    starts_at: Option<String>,
    /// `null` or absent: open-ended.
    ends_at: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SubstitutionParams {
    #[serde(flatten)]
    list: ListParams,
    deputy: Option<String>,
    principal: Option<String>,
    active: Option<String>,
}

pub async fn substitutions(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiQuery(p): ApiQuery<SubstitutionParams>,
) -> Result<Response, ApiError> {
    let filter = SubstitutionFilter {
        deputy: p.deputy.clone().filter(|s| !s.is_empty()),
        principal: p.principal.clone().filter(|s| !s.is_empty()),
        active: matches!(p.active.as_deref(), Some("1" | "true")),
    };
    if let Some(detailed) = p.list.csv() {
        let all = exports::all_pages(&p.list.paging(), |q| {
            let (kapu, actor, tenant, filter) =
                (kapu.clone(), actor.clone(), tenant.clone(), filter.clone());
            async move { kapu.list_substitutions(&actor, &tenant, &filter, &q).await }
        })
        .await?;
        return Ok(exports::csv_response(
            "substitutions",
            exports::substitutions(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(
        kapu.list_substitutions(&actor, &tenant, &filter, &p.list.paging())
            .await?,
    )
    .into_response())
}

pub async fn create_substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<SubstitutionBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = SubstitutionInput {
        deputy: b.deputy,
        principal: b.principal,
        roles: b.roles,
        group: b.group.filter(|g| !g.is_empty()),
        starts_at: optional_instant("starts_at", b.starts_at.as_deref())?,
        ends_at: optional_instant("ends_at", b.ends_at.as_deref())?,
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_substitution(&actor, &tenant, &input).await?),
    ))
}

pub async fn substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_substitution(&actor, &tenant, &id).await?))
}

#[derive(Deserialize)]
pub struct SubstitutionPatch {
    starts_at: Option<String>,
    #[serde(default, with = "double_option")]
    ends_at: Option<Option<String>>,
    roles: Option<Vec<String>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

pub async fn update_substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<SubstitutionPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let ends_at = match b.ends_at {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(optional_instant("ends_at", Some(&s))?),
    };
    let changes = SubstitutionChanges {
        starts_at: optional_instant("starts_at", b.starts_at.as_deref())?,
        ends_at,
        roles: b.roles,
    };
    Ok(Json(
        kapu.update_substitution(&actor, &tenant, &id, &changes)
            .await?,
    ))
}

pub async fn delete_substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_substitution(&actor, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct IdentityBody {
    act_for: Option<String>,
}

/// A deputy's choice right after a browser-style login.
pub async fn choose_identity(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<IdentityBody>,
) -> Result<StatusCode, ApiError> {
    kapu.choose_identity(&actor, b.act_for.as_deref().filter(|p| !p.is_empty()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
