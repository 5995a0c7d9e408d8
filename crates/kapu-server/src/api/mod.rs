//! The JSON API under `/api/v1`. Each route is registered together with its OpenAPI
//! description, so the document lists exactly the operations the router serves.

mod access;
mod audit;
pub mod contract;
mod document_types;
mod extract;
mod factors;
mod messages;
mod offices;
mod openapi;
mod registration;
mod session;
mod settings;
mod sso_clients;
mod technical_users;
mod tenants;
mod user_factors;
mod users;
mod vault;
mod vault_admin;

use axum::Router;
use kapu_core::Kapu;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{AnyApiActor, ApiActor, ApiJson, ApiQuery, FactorActor};
pub use messages::envelope_schema;
pub use openapi::{docs_router, document};
pub use vault_admin::file_response as vault_file_response;

/// Routes whose bodies stream in under their own size limits (system variables), not the
/// small limit of every other request.
fn upload_parts() -> (Router<Kapu>, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(messages::folder, messages::send))
        .routes(routes!(messages::envelope))
        .routes(routes!(vault_admin::preview_import))
        .split_for_parts()
}

/// The routes and their document, built from the same list.
fn parts() -> (Router<Kapu>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(session::login, session::logout))
        .routes(routes!(technical_users::login))
        .routes(routes!(technical_users::list, technical_users::create))
        .routes(routes!(technical_users::reset))
        .routes(routes!(technical_users::lock))
        .routes(routes!(technical_users::unlock))
        .routes(routes!(session::second_factor))
        .routes(routes!(factors::mine))
        .routes(routes!(factors::begin_totp))
        .routes(routes!(factors::confirm_totp))
        .routes(routes!(factors::remove))
        .routes(routes!(factors::recovery_codes))
        .routes(routes!(factors::begin_webauthn))
        .routes(routes!(factors::finish_webauthn))
        .routes(routes!(factors::bind_certificate))
        .routes(routes!(session::logout_everywhere))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::silence_warning))
        .routes(routes!(session::my_roles))
        .routes(routes!(session::my_substitutions))
        .routes(routes!(session::identity_choices))
        .routes(routes!(access::choose_identity))
        .routes(routes!(session::activate))
        .routes(routes!(session::request_reset))
        .routes(routes!(session::complete_reset))
        .routes(routes!(tenants::list, tenants::create))
        .routes(routes!(tenants::read, tenants::rename))
        .routes(routes!(tenants::set_test))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::read, users::update, users::remove))
        .routes(routes!(users::lock))
        .routes(routes!(users::unlock))
        .routes(routes!(users::set_password))
        .routes(routes!(users::resend_activation))
        .routes(routes!(user_factors::of_user))
        .routes(routes!(user_factors::remove_of_user))
        .routes(routes!(user_factors::begin_webauthn_for_user))
        .routes(routes!(user_factors::finish_webauthn_for_user))
        .routes(routes!(user_factors::bind_certificate_for_user))
        .routes(routes!(user_factors::issue_permit))
        .routes(routes!(user_factors::revoke_permit))
        .routes(routes!(user_factors::statistics))
        .routes(routes!(settings::list))
        .routes(routes!(settings::read, settings::set_global))
        .routes(routes!(settings::set_tenant, settings::clear_tenant))
        .routes(routes!(audit::search))
        .routes(routes!(access::services, access::create_service))
        .routes(routes!(access::service, access::update_service))
        .routes(routes!(access::roles))
        .routes(routes!(sso_clients::read, sso_clients::register))
        .routes(routes!(sso_clients::rotate_secret))
        .routes(routes!(sso_clients::set_state))
        .routes(routes!(sso_clients::connected))
        .routes(routes!(sso_clients::request))
        .routes(routes!(sso_clients::list))
        .routes(routes!(sso_clients::disconnect))
        .routes(routes!(access::contract, access::set_contract))
        .routes(routes!(access::grantable))
        .routes(routes!(access::groups, access::create_group))
        .routes(routes!(
            access::group,
            access::update_group,
            access::delete_group
        ))
        .routes(routes!(access::rights, access::set_rights))
        .routes(routes!(access::substitutions, access::create_substitution))
        .routes(routes!(
            access::substitution,
            access::update_substitution,
            access::delete_substitution
        ))
        .routes(routes!(registration::register))
        .routes(routes!(registration::verify))
        .routes(routes!(offices::types, offices::create_type))
        .routes(routes!(offices::directory, offices::create))
        .routes(routes!(offices::office, offices::update))
        .routes(routes!(offices::close))
        .routes(routes!(document_types::list, document_types::replace))
        .routes(routes!(messages::mine))
        .routes(routes!(messages::notices, messages::set_notices))
        .routes(routes!(messages::message))
        .routes(routes!(messages::download))
        .routes(routes!(messages::receipt))
        .routes(routes!(messages::long_term))
        .routes(routes!(vault::state))
        .routes(routes!(vault::unlock))
        .routes(routes!(vault::unlock_email))
        .routes(routes!(vault::lock))
        .routes(routes!(vault::set_pin))
        .routes(routes!(vault::entries, vault::create))
        .routes(routes!(vault::entry, vault::update, vault::delete))
        .routes(routes!(vault::rekey))
        .routes(routes!(vault::code))
        .routes(routes!(vault::secret))
        .routes(routes!(vault::log))
        .routes(routes!(vault_admin::entry_grants, vault_admin::grant_entry))
        .routes(routes!(vault_admin::revoke_entry_grant))
        .routes(routes!(vault_admin::folders, vault_admin::create_folder))
        .routes(routes!(vault_admin::delete_folder))
        .routes(routes!(
            vault_admin::folder_grants,
            vault_admin::grant_folder
        ))
        .routes(routes!(vault_admin::revoke_folder_grant))
        .routes(routes!(vault_admin::import))
        .routes(routes!(vault_admin::confirm_import))
        .routes(routes!(vault_admin::export))
        .routes(routes!(vault_admin::report))
        .split_for_parts()
}

/// The JSON API with the small body limit.
pub fn router() -> Router<Kapu> {
    parts()
        .0
        .layer(axum::middleware::from_fn(extraction_errors))
}

/// The upload routes, without the small body limit.
pub fn upload_router() -> Router<Kapu> {
    upload_parts()
        .0
        .layer(axum::middleware::from_fn(extraction_errors))
}

/// What the framework's extractors refuse (a path value that does not parse, a broken
/// multipart body, a wrong content type) it answers in plain text; the API answers every
/// refusal in its own JSON body, with a status the operation documents.
async fn extraction_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let response = next.run(req).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !status.is_client_error() || !plain {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let e = extraction_error(status.as_u16(), &text);
    tracing::debug!(rejection = %text, "request refused while it was read");
    crate::error::ApiError::from(e).into_response()
}

/// The service error a framework rejection stands for.
fn extraction_error(status: u16, text: &str) -> kapu_core::Error {
    use kapu_core::Error;
    match status {
        // A path whose value does not parse names nothing that exists.
        400 if text.starts_with("Invalid URL") => Error::NotFound,
        400 if text.contains("multipart") || text.contains("boundary") => {
            Error::field("body", "request.multipart")
        }
        413 => Error::TooLarge,
        415 => Error::field("body", "request.content_type"),
        _ => Error::field("body", "request.malformed"),
    }
}

/// The whole document: both route lists.
fn full_document() -> utoipa::openapi::OpenApi {
    let mut doc = parts().1;
    doc.merge(upload_parts().1);
    doc
}

/// `/.well-known/jwks.json`: every public key Kapu has signed with, for verifying receipts
/// (and later tokens) offline.
pub async fn jwks(
    axum::extract::State(kapu): axum::extract::State<Kapu>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use axum::response::IntoResponse as _;
    let keys = kapu.keys().jwks().await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/jwk-set+json"),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        axum::Json(keys),
    )
        .into_response())
}
