//! Running the vault: folders, delegation, imports, exports and the "who saw what" report.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::Page;
use kapu_core::platform::time_fmt;
use kapu_core::vault::export::ExportInput;
use kapu_core::vault::grants::{GrantInput, GrantOn, VaultFolder, VaultGrant};
use kapu_core::vault::import::ImportView;
use kapu_core::vault::report::{ReportQuery, VaultLogEntry};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{
    Conflict, Forbidden, Gone, Internal, Items, Locked, NotFound, TooLarge, TooManyRequests,
    Unauthorized, Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::vault_forms::read_import_form;

/// The folders the caller may see.
#[utoipa::path(get, path = "/vault/folders", tag = "vault",
    responses((status = 200, body = Items<VaultFolder>), Unauthorized, Forbidden, Internal))]
pub async fn folders(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Items<VaultFolder>>, ApiError> {
    Ok(Json(Items::of(kapu.vault_folders(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct FolderBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// A new folder. Vault administrators only.
#[utoipa::path(post, path = "/vault/folders", tag = "vault", request_body = FolderBody,
    responses((status = 201, body = VaultFolder), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
pub async fn create_folder(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<FolderBody>,
) -> Result<Response, ApiError> {
    let folder = kapu.create_vault_folder(&actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(folder)).into_response())
}

/// Delete a folder; its entries stay, outside any folder. Vault administrators only.
#[utoipa::path(delete, path = "/vault/folders/{id}", tag = "vault", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn delete_folder(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_vault_folder(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who may use an entry, and at which level. Managers only.
#[utoipa::path(get, path = "/vault/entries/{id}/grants", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = Items<VaultGrant>), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn entry_grants(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<VaultGrant>>, ApiError> {
    Ok(Json(Items::of(
        kapu.vault_grants(&actor, GrantOn::Entry(&id)).await?,
    )))
}

/// Delegate an entry to a user or group of the tenant: `code` (the current code only),
/// `view` (also the secret) or `manage`. A second grant to the same holder replaces the first.
#[utoipa::path(post, path = "/vault/entries/{id}/grants", tag = "vault", params(("id" = String, Path)),
    request_body = GrantInput,
    responses((status = 200, body = Items<VaultGrant>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn grant_entry(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantInput>,
) -> Result<Json<Items<VaultGrant>>, ApiError> {
    Ok(Json(Items::of(
        kapu.grant_vault(&actor, GrantOn::Entry(&id), &body).await?,
    )))
}

/// End a delegation of an entry.
#[utoipa::path(delete, path = "/vault/entries/{id}/grants/{grant}", tag = "vault",
    params(("id" = String, Path), ("grant" = String, Path)),
    responses((status = 204, description = "Ended"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn revoke_entry_grant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((id, grant)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.revoke_vault_grant(&actor, GrantOn::Entry(&id), &grant)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who may use every entry of a folder. Folder managers only.
#[utoipa::path(get, path = "/vault/folders/{id}/grants", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = Items<VaultGrant>), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn folder_grants(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<VaultGrant>>, ApiError> {
    Ok(Json(Items::of(
        kapu.vault_grants(&actor, GrantOn::Folder(&id)).await?,
    )))
}

/// Delegate every entry of a folder, present and future.
#[utoipa::path(post, path = "/vault/folders/{id}/grants", tag = "vault", params(("id" = String, Path)),
    request_body = GrantInput,
    responses((status = 200, body = Items<VaultGrant>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn grant_folder(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantInput>,
) -> Result<Json<Items<VaultGrant>>, ApiError> {
    Ok(Json(Items::of(
        kapu.grant_vault(&actor, GrantOn::Folder(&id), &body)
            .await?,
    )))
}

/// End a delegation of a folder.
#[utoipa::path(delete, path = "/vault/folders/{id}/grants/{grant}", tag = "vault",
    params(("id" = String, Path), ("grant" = String, Path)),
    responses((status = 204, description = "Ended"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn revoke_folder_grant(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((id, grant)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    kapu.revoke_vault_grant(&actor, GrantOn::Folder(&id), &grant)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The import form's fields.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart form
pub struct ImportForm {
    /// An `otpauth://` list, an Aegis vault, a 2FAS backup, Google Authenticator's
    /// `otpauth-migration://` export, a Bitwarden JSON export, or a picture (PNG, JPEG) of QR
    /// codes holding such addresses (at most 8 MiB).
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
    /// Pasted `otpauth://` addresses, instead of a file.
    text: Option<String>,
    /// The password of an encrypted file.
    password: Option<String>,
    /// The folder to import into (required for folder managers).
    folder_id: Option<String>,
}

/// Read a file and preview what it would add: new entries, duplicates of the vault's (same
/// issuer, account and secret) and invalid ones with the reason. Nothing is stored until
/// the preview is confirmed (within 30 minutes). Key derivation a file asks for is capped.
#[utoipa::path(post, path = "/vault/imports", tag = "vault",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ImportView), Unauthorized, Forbidden, TooLarge, Unprocessable, Internal))]
pub async fn preview_import(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let form = form.map_err(|_| kapu_core::Error::field("body", "error.bad_request"))?;
    let form = read_import_form(form).await?;
    let view = kapu
        .preview_vault_import(&actor, form.file, form.password, form.folder_id)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// How an import stands: `preview`, `running` (with `done` of `total`), `done` or `failed`.
#[utoipa::path(get, path = "/vault/imports/{id}", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = ImportView), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn import(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ImportView>, ApiError> {
    Ok(Json(kapu.vault_import(&actor, &id).await?))
}

/// Store what a preview found new. Runs in the background; follow it with `GET`.
#[utoipa::path(post, path = "/vault/imports/{id}/confirm", tag = "vault", params(("id" = String, Path)),
    responses((status = 202, body = ImportView), Unauthorized, Forbidden, NotFound, Conflict, Gone, Internal))]
pub async fn confirm_import(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = kapu.confirm_vault_import(&actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// Export every entry the caller manages: `aegis` (encrypted with `file_password`; the
/// Aegis app imports it) or, with `confirm_plain`, `otpauth` (plain addresses). Secure mode
/// and the password again; logged with every entry exported.
#[utoipa::path(post, path = "/vault/export", tag = "vault", request_body = ExportInput,
    responses((status = 200, description = "The file", content(
        (serde_json::Value = "application/json"), (String = "text/plain"))),
        Unauthorized, Forbidden, NotFound, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn export(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<ExportInput>,
) -> Result<Response, ApiError> {
    let file = kapu.export_vault(&actor, &body).await?;
    Ok(file_response(file))
}

pub fn file_response(file: kapu_core::vault::export::ExportFile) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", file.file_name);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        file.bytes,
    )
        .into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `name@tenant`; everyone when empty.
    #[param(max_length = 200)]
    user: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; default now.
    to: Option<String>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1)]
    per_page: Option<i64>,
    /// `csv` for a download.
    #[param(pattern = "^(json|csv)?$")]
    format: Option<String>,
}

/// Who saw what: code reveals, secret views and exports per user and period, newest first.
/// Vault administrators only.
#[utoipa::path(get, path = "/vault/report", tag = "vault", params(ReportParams),
    responses((status = 200, description = "A page of reveals", content(
        (Page<VaultLogEntry> = "application/json"), (String = "text/csv"))),
        Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn report(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = p.format.as_deref() == Some("csv");
    let q = ReportQuery {
        user: p.user,
        from: time_fmt::optional_instant("from", p.from.as_deref())?,
        to: time_fmt::optional_instant("to", p.to.as_deref())?,
        page: if csv { Some(1) } else { p.page },
        per_page: if csv { Some(10_000) } else { p.per_page },
    };
    let page = kapu.vault_report(&actor, &q).await?;
    if csv {
        return Ok(crate::exports::csv_response(
            "vault-report",
            crate::exports::vault_report(ctx.1, &page.items),
        ));
    }
    Ok(Json(page).into_response())
}
