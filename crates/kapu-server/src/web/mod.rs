//! Server-rendered pages: Hungarian by default, English by switch; work without JavaScript.

mod authorize_pages;
mod catalog_pages;
mod compose_pages;
mod connection_pages;
mod document_type_pages;
mod factor_pages;
mod form_values;
mod frame;
mod group_pages;
mod home_pages;
mod login_pages;
mod mail_pages;
mod office_pages;
mod password_pages;
mod receipt_pages;
mod registration_pages;
mod rights_page;
mod second_step_pages;
mod session;
mod sso_pages;
mod substitution_pages;
mod system_pages;
mod table;
mod tenant_pages;
mod user_factor_pages;
mod user_pages;
mod vault_manage_pages;
mod vault_pages;
mod vault_transfer_pages;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kapu_core::Kapu;

pub use frame::Tr;

const CSS: &str = include_str!("../../static/kapu.css");
/// The WebAuthn ceremonies of security keys.
const WEBAUTHN_JS: &str = include_str!("../../static/webauthn.js");
/// The vault pages' lock on hidden tabs and sleep, the code's countdown and copy button.
const VAULT_JS: &str = include_str!("../../static/vault.js");
/// Print buttons (the recovery codes).
const PRINT_JS: &str = include_str!("../../static/print.js");

/// The site's icon; browsers ask for it on every site, and a 404 would be a console error.
const ICON: &str = include_str!("../../static/favicon.svg");

async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

fn script(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

async fn webauthn_script() -> impl IntoResponse {
    script(WEBAUTHN_JS)
}

async fn vault_script() -> impl IntoResponse {
    script(VAULT_JS)
}

async fn print_script() -> impl IntoResponse {
    script(PRINT_JS)
}

pub fn router(kapu: &Kapu) -> Router<Kapu> {
    Router::new()
        .route("/static/kapu.css", get(stylesheet))
        .route("/static/favicon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/static/webauthn.js", get(webauthn_script))
        .route("/static/vault.js", get(vault_script))
        .route("/static/print.js", get(print_script))
        .route("/vault", get(vault_pages::home))
        .route("/vault/unlock", post(vault_pages::unlock))
        .route("/vault/unlock/email", post(vault_pages::unlock_email))
        .route("/vault/lock", post(vault_pages::lock))
        .route(
            "/vault/pin",
            get(vault_pages::pin_page).post(vault_pages::pin_submit),
        )
        .route("/vault/entries/{id}", get(vault_pages::entry))
        .route(
            "/vault/entries/{id}/code",
            get(vault_pages::back_to_entry).post(vault_pages::code),
        )
        .route(
            "/vault/entries/{id}/secret",
            get(vault_pages::back_to_entry).post(vault_pages::secret),
        )
        .route(
            "/vault/new",
            get(vault_manage_pages::new_page).post(vault_manage_pages::new_submit),
        )
        .route("/vault/entries/{id}/edit", post(vault_manage_pages::edit))
        .route("/vault/entries/{id}/rekey", post(vault_manage_pages::rekey))
        .route(
            "/vault/entries/{id}/grants",
            post(vault_manage_pages::grant),
        )
        .route(
            "/vault/entries/{id}/grants/{grant}/revoke",
            post(vault_manage_pages::revoke),
        )
        .route(
            "/vault/entries/{id}/delete",
            get(vault_manage_pages::delete_page).post(vault_manage_pages::delete),
        )
        .route(
            "/vault/folders",
            get(vault_manage_pages::folders).post(vault_manage_pages::create_folder),
        )
        .route(
            "/vault/folders/{id}/grants",
            post(vault_manage_pages::grant_folder),
        )
        .route(
            "/vault/folders/{id}/grants/{grant}/revoke",
            post(vault_manage_pages::revoke_folder),
        )
        .route("/vault/import", get(vault_transfer_pages::import_page))
        .route(
            "/vault/imports/{id}/confirm",
            post(vault_transfer_pages::import_confirm),
        )
        .route(
            "/vault/imports/{id}",
            get(vault_transfer_pages::import_progress),
        )
        .route(
            "/vault/export",
            get(vault_transfer_pages::export_page).post(vault_transfer_pages::export_submit),
        )
        .route("/vault/report", get(vault_transfer_pages::report))
        .route("/", get(home_pages::home))
        .route("/lang", get(login_pages::switch_language))
        .route("/oauth2/authorize", get(authorize_pages::authorize))
        .route("/oauth2/authorize/consent", post(authorize_pages::consent))
        .route(
            "/oauth2/logout",
            get(authorize_pages::logout).post(authorize_pages::logout_confirmed),
        )
        .merge(login_router(kapu))
        .route("/profile/factors", get(factor_pages::factors))
        .route("/profile/services", get(connection_pages::page))
        .route(
            "/profile/services/{client_id}/disconnect",
            post(connection_pages::disconnect),
        )
        .route("/profile/factors/totp", post(factor_pages::begin_totp))
        .route(
            "/profile/factors/totp/confirm",
            post(factor_pages::confirm_totp),
        )
        .route(
            "/profile/factors/recovery-codes",
            post(factor_pages::recovery_codes),
        )
        .route(
            "/profile/factors/webauthn",
            post(factor_pages::begin_webauthn),
        )
        .route(
            "/profile/factors/webauthn/finish",
            post(factor_pages::finish_webauthn),
        )
        .route(
            "/profile/factors/certificate",
            post(factor_pages::bind_certificate),
        )
        .route("/profile/factors/{id}/remove", post(factor_pages::remove))
        .route("/logout", post(login_pages::logout))
        .route("/logout/everywhere", post(login_pages::logout_everywhere))
        .route("/profile", get(home_pages::profile))
        .route("/profile/notices", post(home_pages::profile_notices))
        .route(
            "/register",
            get(registration_pages::register_page).post(registration_pages::register_submit),
        )
        .route(
            "/register/verify",
            get(registration_pages::verify_page).post(registration_pages::verify_submit),
        )
        .route("/mail", get(mail_pages::mail_root))
        .route("/mail/{mailbox}", get(mail_pages::mailbox))
        .route("/mail/{mailbox}/messages/{id}", get(mail_pages::message))
        .route(
            "/mail/{mailbox}/messages/{id}/documents/{position}",
            get(mail_pages::document),
        )
        .route(
            "/mail/{mailbox}/messages/{id}/receipt",
            get(mail_pages::receipt),
        )
        .route(
            "/mail/{mailbox}/messages/{id}/receipt/page",
            get(receipt_pages::page),
        )
        .route(
            "/mail/{mailbox}/messages/{id}/long-term",
            post(mail_pages::long_term),
        )
        .route("/mail/{mailbox}/compose", get(compose_pages::compose_page))
        .route(
            "/mail/{mailbox}/envelope",
            get(compose_pages::envelope_page),
        )
        .route("/offices", get(office_pages::directory))
        .route("/admin/offices", get(office_pages::admin_list))
        .route(
            "/offices/{short_name}/document-types",
            get(document_type_pages::page).post(document_type_pages::submit),
        )
        .route(
            "/admin/offices/new",
            get(office_pages::new_office_page).post(office_pages::new_office_submit),
        )
        .route(
            "/admin/offices/{short_name}",
            get(office_pages::office_page).post(office_pages::office_submit),
        )
        .route(
            "/admin/offices/{short_name}/close",
            get(office_pages::close_page).post(office_pages::close_submit),
        )
        .route(
            "/password/warning",
            get(password_pages::warning_page).post(password_pages::warning_submit),
        )
        .route(
            "/password/change",
            get(password_pages::change_page).post(password_pages::change_submit),
        )
        .route(
            "/password/forgot",
            get(password_pages::forgot_page).post(password_pages::forgot_submit),
        )
        .route(
            "/activate",
            get(password_pages::activate_page).post(password_pages::activate_submit),
        )
        .route(
            "/password/reset",
            get(password_pages::reset_page).post(password_pages::reset_submit),
        )
        .route("/admin/users", get(user_pages::users))
        .route(
            "/admin/users/new",
            get(user_pages::new_user_page).post(user_pages::new_user_submit),
        )
        .route(
            "/admin/users/{tenant}/{login}",
            get(user_pages::user_page).post(user_pages::user_save),
        )
        .route(
            "/admin/users/{tenant}/{login}/lock",
            post(user_pages::user_lock),
        )
        .route(
            "/admin/users/{tenant}/{login}/unlock",
            post(user_pages::user_unlock),
        )
        .route(
            "/admin/users/{tenant}/{login}/password",
            post(user_pages::user_password),
        )
        .route(
            "/admin/users/{tenant}/{login}/delete",
            get(user_pages::user_delete_page).post(user_pages::user_delete),
        )
        .route(
            "/admin/users/{tenant}/{login}/factors",
            get(user_factor_pages::page),
        )
        .route(
            "/admin/users/{tenant}/{login}/factors/webauthn",
            post(user_factor_pages::begin_webauthn),
        )
        .route(
            "/admin/users/{tenant}/{login}/factors/webauthn/finish",
            post(user_factor_pages::finish_webauthn),
        )
        .route(
            "/admin/users/{tenant}/{login}/factors/certificate",
            post(user_factor_pages::bind_certificate),
        )
        .route(
            "/admin/users/{tenant}/{login}/factors/{id}/remove",
            post(user_factor_pages::remove),
        )
        .route(
            "/admin/users/{tenant}/{login}/permits",
            post(user_factor_pages::issue_permit),
        )
        .route(
            "/admin/users/{tenant}/{login}/permits/{id}/revoke",
            post(user_factor_pages::revoke_permit),
        )
        .route(
            "/admin/users/{tenant}/{login}/rights",
            get(rights_page::rights).post(rights_page::rights_submit),
        )
        .route("/admin/groups", get(group_pages::groups))
        .route(
            "/admin/groups/new",
            get(group_pages::new_group_page).post(group_pages::new_group_submit),
        )
        .route(
            "/admin/groups/{tenant}/{code}",
            get(group_pages::group_page).post(group_pages::group_submit),
        )
        .route(
            "/admin/groups/{tenant}/{code}/delete",
            get(group_pages::group_delete_page).post(group_pages::group_delete),
        )
        .route(
            "/admin/substitutions",
            get(substitution_pages::substitutions),
        )
        .route(
            "/admin/substitutions/new",
            get(substitution_pages::new_substitution_page)
                .post(substitution_pages::new_substitution_submit),
        )
        .route(
            "/admin/substitutions/{tenant}/{id}",
            get(substitution_pages::substitution_page)
                .post(substitution_pages::substitution_submit),
        )
        .route(
            "/admin/substitutions/{tenant}/{id}/delete",
            get(substitution_pages::substitution_delete_page)
                .post(substitution_pages::substitution_delete),
        )
        .route("/admin/roles", get(catalog_pages::roles))
        .route("/admin/sso", get(sso_pages::list))
        .route(
            "/admin/sso/request",
            get(sso_pages::request_page).post(sso_pages::request_submit),
        )
        .route("/admin/sso/{code}", get(sso_pages::client))
        .route("/admin/sso/{code}/state", post(sso_pages::move_state))
        .route("/admin/sso/{code}/secret", post(sso_pages::new_secret))
        .route("/admin/services", get(catalog_pages::services))
        .route(
            "/admin/services/new",
            get(catalog_pages::new_service_page).post(catalog_pages::new_service_submit),
        )
        .route(
            "/admin/services/{code}",
            get(catalog_pages::service_page).post(catalog_pages::service_submit),
        )
        .route(
            "/admin/tenants/{code}/services",
            get(catalog_pages::contract_page).post(catalog_pages::contract_submit),
        )
        .route("/admin/audit", get(system_pages::audit))
        .route("/admin/settings", get(system_pages::settings))
        .route(
            "/admin/settings/{name}",
            get(system_pages::setting_page).post(system_pages::setting_submit),
        )
        .route("/admin/statistics", get(system_pages::statistics))
        .route(
            "/admin/statistics/second-factors",
            get(system_pages::factor_statistics),
        )
        .route("/admin/tenants", get(tenant_pages::tenants))
        .route(
            "/admin/tenants/new",
            get(tenant_pages::new_tenant_page).post(tenant_pages::new_tenant_submit),
        )
        .route(
            "/admin/tenants/{code}",
            get(tenant_pages::tenant_page).post(tenant_pages::tenant_rename),
        )
}

/// The pages whose forms upload documents: their bodies stream in under the mailbox's own
/// size limits, not the small limit of every other form.
/// The login's own pages; while they carry a service's request, their forms may lead to it.
fn login_router(kapu: &Kapu) -> Router<Kapu> {
    Router::new()
        .route(
            "/login",
            get(login_pages::login_page).post(login_pages::login_submit),
        )
        .route(
            "/login/identity",
            get(login_pages::identity_page).post(login_pages::identity_submit),
        )
        .route(
            "/login/second-factor",
            get(second_step_pages::second_step_page).post(second_step_pages::second_step_submit),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            kapu.clone(),
            login_pages::toward_service,
        ))
}

pub fn upload_router() -> Router<Kapu> {
    Router::new()
        .route(
            "/mail/{mailbox}/compose",
            post(compose_pages::compose_submit),
        )
        .route(
            "/mail/{mailbox}/envelope",
            post(compose_pages::envelope_submit),
        )
        .route("/vault/import", post(vault_transfer_pages::import_submit))
}
