//! Services and contracts, groups, user rights and substitutions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::access::catalog::{CatalogueRole, RoleInput, Service, ServiceInput};
use kapu_core::access::grants::{GrantableRole, UserRights};
use kapu_core::access::groups::{Group, GroupInput, GroupSummary};
use kapu_core::access::substitutions::{
    Substitution, SubstitutionChanges, SubstitutionFilter, SubstitutionInput,
};
use kapu_core::identity::Page;
use kapu_core::platform::time_fmt::optional_instant;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{
    Conflict, Forbidden, Internal, Items, ListParams, NotFound, Unauthorized, Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::exports;

#[derive(Deserialize, Default, ToSchema)]
pub struct RoleBody {
    /// Lower-case letters, digits and `_`, starting with a letter.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 40, pattern = "^[a-z][a-z0-9_]*$")]
    code: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: String,
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ServiceBody {
    /// Lower-case letters, digits and `_`, starting with a letter; ignored on update.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^([a-z][a-z0-9_]*)?$")]
    code: String,
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// An absolute `https://` URL (`http://` only for `localhost`).
    #[schema(max_length = 500, pattern = "^https?://[^/\\\\]")]
    launch_url: Option<String>,
    /// The service's role catalogue; on update, the whole new catalogue.
    #[serde(default)]
    roles: Vec<RoleBody>,
}

impl ServiceBody {
    pub(super) fn parts(self, code: Option<String>) -> (ServiceInput, Vec<RoleInput>) {
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

/// The service catalogue, as JSON or CSV.
#[utoipa::path(get, path = "/services", tag = "access", params(ListParams),
    responses((status = 200, description = "A page of services", content(
        (Page<Service> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, Unprocessable, Internal))]
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
#[utoipa::path(get, path = "/roles", tag = "access", params(ListParams),
    responses((status = 200, description = "A page of roles", content(
        (Page<CatalogueRole> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, Unprocessable, Internal))]
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

/// Register a service with its roles (central framework administrators, secure mode).
#[utoipa::path(post, path = "/services", tag = "access", request_body = ServiceBody,
    responses((status = 201, body = Service), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
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

/// Read a service with its roles.
#[utoipa::path(get, path = "/services/{code}", tag = "access", params(("code" = String, Path)),
    responses((status = 200, body = Service), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn service(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_service(&actor, &code).await?))
}

/// Change a service's name, launch address or roles.
#[utoipa::path(patch, path = "/services/{code}", tag = "access", params(("code" = String, Path)),
    request_body = ServiceBody,
    responses((status = 200, body = Service), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
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

/// The services a tenant subscribes to.
#[utoipa::path(get, path = "/tenants/{tenant}/services", tag = "access", params(("tenant" = String, Path)),
    responses((status = 200, body = Items<Service>), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn contract(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
) -> Result<Json<Items<Service>>, ApiError> {
    Ok(Json(Items::of(
        kapu.tenant_services(&actor, &tenant).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct ContractBody {
    /// Codes of the services the tenant subscribes to (Kapu's own is always in).
    services: Vec<String>,
}

/// Set the services a tenant subscribes to (central framework administrators, secure mode).
#[utoipa::path(put, path = "/tenants/{tenant}/services", tag = "access", params(("tenant" = String, Path)),
    request_body = ContractBody,
    responses((status = 200, body = Items<Service>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn set_contract(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
    ApiJson(b): ApiJson<ContractBody>,
) -> Result<Json<Items<Service>>, ApiError> {
    Ok(Json(Items::of(
        kapu.set_tenant_services(&actor, &tenant, &b.services)
            .await?,
    )))
}

/// The roles that may be granted in a tenant.
#[utoipa::path(get, path = "/tenants/{tenant}/roles", tag = "access", params(("tenant" = String, Path)),
    responses((status = 200, body = Items<GrantableRole>), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn grantable(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(tenant): Path<String>,
) -> Result<Json<Items<GrantableRole>>, ApiError> {
    let t = kapu.get_tenant(&actor, &tenant).await?;
    Ok(Json(Items::of(kapu.grantable_roles(&t.id).await?)))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct GroupBody {
    /// Lower-case letters, digits and `_`, starting with a letter; ignored on update.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^([a-z][a-z0-9_]*)?$")]
    code: String,
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Login names (without `@tenant`); on update, the whole new membership.
    members: Option<Vec<String>>,
    /// Role ids (`service.role`); on update, the whole new set.
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

/// A tenant's groups, as JSON or CSV.
#[utoipa::path(get, path = "/tenants/{tenant}/groups", tag = "access",
    params(("tenant" = String, Path), ListParams),
    responses((status = 200, description = "A page of groups", content(
        (Page<GroupSummary> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
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

/// Create a group with members and roles.
#[utoipa::path(post, path = "/tenants/{tenant}/groups", tag = "access",
    params(("tenant" = String, Path)), request_body = GroupBody,
    responses((status = 201, body = Group), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
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

/// Read a group.
#[utoipa::path(get, path = "/tenants/{tenant}/groups/{code}", tag = "access",
    params(("tenant" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = Group), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_group(&actor, &tenant, &code).await?))
}

/// Change a group's name, members or roles.
#[utoipa::path(patch, path = "/tenants/{tenant}/groups/{code}", tag = "access",
    params(("tenant" = String, Path), ("code" = String, Path)), request_body = GroupBody,
    responses((status = 200, body = Group), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
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

/// Delete a group.
#[utoipa::path(delete, path = "/tenants/{tenant}/groups/{code}", tag = "access",
    params(("tenant" = String, Path), ("code" = String, Path)),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn delete_group(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_group(&actor, &tenant, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's rights: individual roles, groups, and every role in effect with its source.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{login}/rights", tag = "access",
    params(("tenant" = String, Path), ("login" = String, Path)),
    responses((status = 200, body = UserRights), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn rights(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.user_rights(&actor, &tenant, &login).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RightsBody {
    /// Role ids (`service.role`) granted individually; absent: unchanged.
    roles: Option<Vec<String>>,
    /// Group codes; absent: unchanged.
    groups: Option<Vec<String>>,
}

/// Set a user's individual roles and groups.
#[utoipa::path(put, path = "/tenants/{tenant}/users/{login}/rights", tag = "access",
    params(("tenant" = String, Path), ("login" = String, Path)), request_body = RightsBody,
    responses((status = 200, body = UserRights), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
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

#[derive(Deserialize, Default, ToSchema)]
pub struct SubstitutionBody {
    /// Login name (without `@tenant`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    deputy: String,
    /// Login name (without `@tenant`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    principal: String,
    /// Role ids the principal holds and the deputy lacks; or give `group`.
    roles: Option<Vec<String>>,
    /// A group whose roles the deputy takes over.
    #[schema(max_length = 40)]
    group: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; absent: now.
    #[schema(max_length = 40)]
    starts_at: Option<String>,
    /// `null` or absent: open-ended.
    #[schema(max_length = 40)]
    ends_at: Option<String>,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubstitutionParams {
    #[serde(flatten)]
    #[param(ignore)]
    list: ListParams,
    /// Deputy's login name.
    #[param(max_length = 64)]
    deputy: Option<String>,
    /// Principal's login name.
    #[param(max_length = 64)]
    principal: Option<String>,
    /// `1`: only those in force now.
    #[param(pattern = "^(0|1|true|false)?$")]
    active: Option<String>,
}

/// A tenant's substitutions, as JSON or CSV.
#[utoipa::path(get, path = "/tenants/{tenant}/substitutions", tag = "access",
    params(("tenant" = String, Path), ListParams, SubstitutionParams),
    responses((status = 200, description = "A page of substitutions", content(
        (Page<Substitution> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
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

/// Let a deputy act for a principal in chosen roles, from a start to an optional end.
#[utoipa::path(post, path = "/tenants/{tenant}/substitutions", tag = "access",
    params(("tenant" = String, Path)), request_body = SubstitutionBody,
    responses((status = 201, body = Substitution), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
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

/// Read a substitution.
#[utoipa::path(get, path = "/tenants/{tenant}/substitutions/{id}", tag = "access",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Substitution), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_substitution(&actor, &tenant, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SubstitutionPatch {
    /// RFC 3339 or `YYYY-MM-DD`.
    #[schema(max_length = 40)]
    starts_at: Option<String>,
    /// `null`: open-ended; absent: unchanged.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 40)]
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

/// Change a substitution's dates or roles.
#[utoipa::path(patch, path = "/tenants/{tenant}/substitutions/{id}", tag = "access",
    params(("tenant" = String, Path), ("id" = String, Path)), request_body = SubstitutionPatch,
    responses((status = 200, body = Substitution), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
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

/// End and delete a substitution.
#[utoipa::path(delete, path = "/tenants/{tenant}/substitutions/{id}", tag = "access",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn delete_substitution(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_substitution(&actor, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityBody {
    /// The principal's `name@tenant`; absent or empty: one's own identity.
    #[schema(max_length = 105)]
    act_for: Option<String>,
}

/// A deputy's choice right after a browser-style login.
#[utoipa::path(post, path = "/session/identity", tag = "session", request_body = IdentityBody,
    responses((status = 204, description = "Chosen"), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn choose_identity(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<IdentityBody>,
) -> Result<StatusCode, ApiError> {
    kapu.choose_identity(&actor, b.act_for.as_deref().filter(|p| !p.is_empty()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
