//! The shared two-factor vault: its lock, its entries, and their codes and secrets. Every
//! call but the lock's own needs the vault unlocked in this session (`vault_locked`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::Page;
use kapu_core::vault::entries::{EntryChange, EntryFilter, EntryInput, RekeyInput, VaultEntry};
use kapu_core::vault::lock::{UnlockInput, VaultState};
use kapu_core::vault::otp::Codes;
use kapu_core::vault::report::VaultLogEntry;
use kapu_core::vault::reveal::EntrySecret;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{
    Forbidden, Internal, ListParams, Locked, NotFound, TooManyRequests, Unauthorized, Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::error::ApiError;

/// Whether the vault is open in this session, and how it opens.
#[utoipa::path(get, path = "/vault", tag = "vault",
    responses((status = 200, body = VaultState), Unauthorized, Internal))]
pub async fn state(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<VaultState>, ApiError> {
    Ok(Json(kapu.vault_state(&actor).await?))
}

/// Open the vault with the user's password or vault PIN. Where the tenant asks for an
/// e-mail check and the browser is not known (`browser_token`), a code is sent by e-mail
/// and `email_code_pending` is set: finish with `/vault/unlock/email`. Five wrong PINs lock
/// PIN unlocking (`vault_pin_locked`) until a password unlock; ten wrong answers in a quarter
/// of an hour make unlocking wait (`too_many_requests`).
#[utoipa::path(post, path = "/vault/unlock", tag = "vault", request_body = UnlockInput,
    responses((status = 200, body = VaultState), Unauthorized, Locked, Unprocessable, TooManyRequests, Internal))]
pub async fn unlock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<UnlockInput>,
) -> Result<Json<VaultState>, ApiError> {
    Ok(Json(kapu.unlock_vault(&actor, &body).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct EmailCodeBody {
    /// The six digits from the e-mail.
    #[schema(max_length = 20)]
    code: String,
}

/// Finish an unlock with the code sent by e-mail; the answer carries the `browser_token`
/// that spares this browser the check for the tenant's set number of days.
#[utoipa::path(post, path = "/vault/unlock/email", tag = "vault", request_body = EmailCodeBody,
    responses((status = 200, body = VaultState), Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn unlock_email(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<EmailCodeBody>,
) -> Result<Json<VaultState>, ApiError> {
    Ok(Json(kapu.verify_vault_email(&actor, &body.code).await?))
}

/// Lock the vault now.
#[utoipa::path(post, path = "/vault/lock", tag = "vault",
    responses((status = 204, description = "Locked"), Unauthorized, Internal))]
pub async fn lock(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<StatusCode, ApiError> {
    kapu.lock_vault(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PinBody {
    /// The user's own password.
    #[schema(max_length = 1024)]
    password: String,
    /// 6 to 12 digits, not one digit repeated nor a plain run.
    #[schema(min_length = 6, max_length = 12, pattern = "^[0-9]{6,12}$")]
    pin: String,
}

/// Set or replace the vault PIN.
#[utoipa::path(put, path = "/vault/pin", tag = "vault", request_body = PinBody,
    responses((status = 200, body = VaultState), Unauthorized, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn set_pin(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<PinBody>,
) -> Result<Json<VaultState>, ApiError> {
    Ok(Json(
        kapu.set_vault_pin(&actor, &body.password, &body.pin)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FolderParam {
    /// Only the entries of this folder.
    #[param(max_length = 64)]
    folder: Option<String>,
}

/// The entries the caller may use, by client name; `q` searches client, portal and account.
#[utoipa::path(get, path = "/vault/entries", tag = "vault", params(ListParams, FolderParam),
    responses((status = 200, body = Page<VaultEntry>), Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn entries(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(f): ApiQuery<FolderParam>,
) -> Result<Json<Page<VaultEntry>>, ApiError> {
    let filter = EntryFilter {
        list: p.paging(),
        folder_id: f.folder,
    };
    Ok(Json(kapu.vault_entries(&actor, &filter).await?))
}

/// Add an entry: vault administrators anywhere, folder managers into their folder.
#[utoipa::path(post, path = "/vault/entries", tag = "vault", request_body = EntryInput,
    responses((status = 201, body = VaultEntry), Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn create(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<EntryInput>,
) -> Result<Response, ApiError> {
    let entry = kapu.create_vault_entry(&actor, &body).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

/// One entry, without its secret.
#[utoipa::path(get, path = "/vault/entries/{id}", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = VaultEntry), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn entry(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<VaultEntry>, ApiError> {
    Ok(Json(kapu.vault_entry(&actor, &id).await?))
}

/// Rename, re-describe or re-file an entry. Managers only.
#[utoipa::path(patch, path = "/vault/entries/{id}", tag = "vault", params(("id" = String, Path)),
    request_body = EntryChange,
    responses((status = 200, body = VaultEntry), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn update(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EntryChange>,
) -> Result<Json<VaultEntry>, ApiError> {
    Ok(Json(kapu.update_vault_entry(&actor, &id, &body).await?))
}

/// Delete an entry with its earlier keys and delegations. Managers only.
#[utoipa::path(delete, path = "/vault/entries/{id}", tag = "vault", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn delete(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    kapu.delete_vault_entry(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The client re-enrolled: a new key (and recovery code) becomes current; the old pair is
/// kept, dated and read-only. Managers only.
#[utoipa::path(post, path = "/vault/entries/{id}/rekey", tag = "vault", params(("id" = String, Path)),
    request_body = RekeyInput,
    responses((status = 200, body = VaultEntry), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn rekey(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RekeyInput>,
) -> Result<Json<VaultEntry>, ApiError> {
    Ok(Json(kapu.rekey_vault_entry(&actor, &id, &body).await?))
}

/// The code of now and of the next step, computed on the server. Every level may; each
/// reveal is in the business log.
#[utoipa::path(post, path = "/vault/entries/{id}/code", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = Codes), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn code(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Codes>, ApiError> {
    Ok(Json(kapu.vault_code(&actor, &id).await?))
}

/// The secret, recovery code, `otpauth://` address, QR code and earlier keys. `view` and
/// `manage` only; logged.
#[utoipa::path(post, path = "/vault/entries/{id}/secret", tag = "vault", params(("id" = String, Path)),
    responses((status = 200, body = EntrySecret), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn secret(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<EntrySecret>, ApiError> {
    Ok(Json(kapu.vault_secret(&actor, &id).await?))
}

/// An entry's own log, newest first. Managers only.
#[utoipa::path(get, path = "/vault/entries/{id}/log", tag = "vault", params(("id" = String, Path), ListParams),
    responses((status = 200, body = Page<VaultLogEntry>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn log(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Page<VaultLogEntry>>, ApiError> {
    Ok(Json(
        kapu.vault_entry_log(&actor, &id, p.page.unwrap_or(1), p.per_page.unwrap_or(50))
            .await?,
    ))
}
