//! Office mailboxes, their types, and the office directory.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::Page;
use kapu_core::mailbox::offices::{Office, OfficeChange, OfficeInput, OfficeType};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{
    Conflict, Forbidden, Internal, Items, ListParams, NotFound, Unauthorized, Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::mailbox_exports;

/// The office type catalogue.
#[utoipa::path(get, path = "/office-types", tag = "mailbox",
    responses((status = 200, body = Items<OfficeType>), Unauthorized, Internal))]
pub async fn types(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(Items::of(kapu.office_types(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct TypeBody {
    #[serde(default)]
    #[schema(min_length = 2, max_length = 40, pattern = "^[a-z][a-z0-9_]*$")]
    code: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// Add an office type (central framework administrators, secure mode).
#[utoipa::path(post, path = "/office-types", tag = "mailbox", request_body = TypeBody,
    responses((status = 201, body = OfficeType), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
pub async fn create_type(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<TypeBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_office_type(&actor, &b.code, &b.name).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryParams {
    /// Only offices of this type.
    #[param(max_length = 40)]
    office_type: Option<String>,
}

/// The office directory: search by short name or name (accents and case do not matter) and
/// type; every logged-in user may read it. Sort by `short_name`, `name` or `office_type`.
#[utoipa::path(get, path = "/offices", tag = "mailbox", params(ListParams, DirectoryParams),
    responses((status = 200, description = "A page of offices", content(
        (Page<Office> = "application/json"),
        (String = "text/csv"))),
        Unauthorized, Unprocessable, Internal))]
pub async fn directory(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(d): ApiQuery<DirectoryParams>,
) -> Result<Response, ApiError> {
    let office_type = d.office_type.as_deref();
    if let Some(detailed) = p.csv() {
        let all = crate::exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, t) = (kapu.clone(), actor.clone(), d.office_type.clone());
            async move { kapu.list_offices(&actor, &q, t.as_deref()).await }
        })
        .await?;
        return Ok(crate::exports::csv_response(
            "offices",
            mailbox_exports::offices(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(kapu.list_offices(&actor, &p.paging(), office_type).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct OfficeCreateBody {
    /// Upper-case letters, digits and `-`; unique across the system and fixed forever.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 32, pattern = "^[A-Z][A-Z0-9-]*$")]
    short_name: String,
    /// The full official name.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The code of the tenant the office belongs to.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 40)]
    tenant: String,
    #[serde(default)]
    #[schema(min_length = 2, max_length = 40)]
    office_type: String,
    /// `machine`, `browser` or `both`.
    #[serde(default)]
    #[schema(pattern = "^(machine|browser|both)$")]
    connection: String,
    /// An `age` X25519 recipient (`age1…`) for end-to-end encrypted documents.
    #[schema(max_length = 62)]
    public_key: Option<String>,
    /// Where arrival notices also go.
    #[schema(max_length = 254)]
    notify_email: Option<String>,
}

/// Create an office mailbox (central framework administrators, secure mode). Its rights
/// (`hkp.<SHORT>.read`, `.send`, `.manage`) become grantable in its tenant.
#[utoipa::path(post, path = "/offices", tag = "mailbox", request_body = OfficeCreateBody,
    responses((status = 201, body = Office), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<OfficeCreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = OfficeInput {
        short_name: b.short_name,
        name: b.name,
        tenant: b.tenant,
        office_type: b.office_type,
        connection: b.connection,
        public_key: b.public_key,
        notify_email: b.notify_email,
    };
    Ok((
        StatusCode::CREATED,
        Json(kapu.create_office(&actor, &input).await?),
    ))
}

/// One office of the directory (the notification address only for its managers).
#[utoipa::path(get, path = "/offices/{short_name}", tag = "mailbox", params(("short_name" = String, Path)),
    responses((status = 200, body = Office), Unauthorized, NotFound, Internal))]
pub async fn office(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(short_name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_office(&actor, &short_name).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeBody {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(min_length = 2, max_length = 40)]
    office_type: Option<String>,
    #[schema(pattern = "^(machine|browser|both)$")]
    connection: Option<String>,
    /// Empty to remove the key.
    #[schema(max_length = 62)]
    public_key: Option<String>,
    /// Empty to remove the address.
    #[schema(max_length = 254)]
    notify_email: Option<String>,
}

/// Change an office: central administrators anything but the short name; the office's
/// managers (`manage` right, secure mode) its public key and notification address.
#[utoipa::path(patch, path = "/offices/{short_name}", tag = "mailbox", params(("short_name" = String, Path)),
    request_body = ChangeBody,
    responses((status = 200, body = Office), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn update(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(short_name): Path<String>,
    ApiJson(b): ApiJson<ChangeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let change = OfficeChange {
        name: b.name,
        office_type: b.office_type,
        connection: b.connection,
        public_key: b.public_key,
        notify_email: b.notify_email,
    };
    Ok(Json(
        kapu.update_office(&actor, &short_name, &change).await?,
    ))
}

/// Close an office mailbox: its history stays, new mail to it is refused.
#[utoipa::path(post, path = "/offices/{short_name}/close", tag = "mailbox", params(("short_name" = String, Path)),
    responses((status = 200, body = Office), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn close(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(short_name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.close_office(&actor, &short_name).await?))
}
