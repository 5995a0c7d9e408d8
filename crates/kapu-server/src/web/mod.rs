//! Server-rendered pages: Hungarian by default, English by switch; work without JavaScript.

mod access_pages;
mod account;
mod admin;
mod frame;
mod session;
mod system_pages;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kapu_core::Kapu;

pub use frame::Tr;

const CSS: &str = include_str!("../../static/kapu.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

pub fn router() -> Router<Kapu> {
    Router::new()
        .route("/static/kapu.css", get(stylesheet))
        .route("/", get(account::home))
        .route("/lang", get(account::switch_language))
        .route(
            "/login",
            get(account::login_page).post(account::login_submit),
        )
        .route(
            "/login/identity",
            get(account::identity_page).post(account::identity_submit),
        )
        .route("/logout", post(account::logout))
        .route("/logout/everywhere", post(account::logout_everywhere))
        .route("/profile", get(account::profile))
        .route(
            "/password/warning",
            get(account::warning_page).post(account::warning_submit),
        )
        .route(
            "/password/change",
            get(account::change_page).post(account::change_submit),
        )
        .route(
            "/password/forgot",
            get(account::forgot_page).post(account::forgot_submit),
        )
        .route(
            "/activate",
            get(account::activate_page).post(account::activate_submit),
        )
        .route(
            "/password/reset",
            get(account::reset_page).post(account::reset_submit),
        )
        .route("/admin/users", get(admin::users))
        .route(
            "/admin/users/new",
            get(admin::new_user_page).post(admin::new_user_submit),
        )
        .route(
            "/admin/users/{tenant}/{login}",
            get(admin::user_page).post(admin::user_save),
        )
        .route("/admin/users/{tenant}/{login}/lock", post(admin::user_lock))
        .route(
            "/admin/users/{tenant}/{login}/unlock",
            post(admin::user_unlock),
        )
        .route(
            "/admin/users/{tenant}/{login}/password",
            post(admin::user_password),
        )
        .route(
            "/admin/users/{tenant}/{login}/delete",
            get(admin::user_delete_page).post(admin::user_delete),
        )
        .route(
            "/admin/users/{tenant}/{login}/rights",
            get(access_pages::rights).post(access_pages::rights_submit),
        )
        .route("/admin/groups", get(access_pages::groups))
        .route(
            "/admin/groups/new",
            get(access_pages::new_group_page).post(access_pages::new_group_submit),
        )
        .route(
            "/admin/groups/{tenant}/{code}",
            get(access_pages::group_page).post(access_pages::group_submit),
        )
        .route(
            "/admin/groups/{tenant}/{code}/delete",
            get(access_pages::group_delete_page).post(access_pages::group_delete),
        )
        .route("/admin/substitutions", get(access_pages::substitutions))
        .route(
            "/admin/substitutions/new",
            get(access_pages::new_substitution_page).post(access_pages::new_substitution_submit),
        )
        .route(
            "/admin/substitutions/{tenant}/{id}",
            get(access_pages::substitution_page).post(access_pages::substitution_submit),
        )
        .route(
            "/admin/substitutions/{tenant}/{id}/delete",
            get(access_pages::substitution_delete_page).post(access_pages::substitution_delete),
        )
        .route("/admin/roles", get(access_pages::roles))
        .route("/admin/services", get(access_pages::services))
        .route(
            "/admin/services/new",
            get(access_pages::new_service_page).post(access_pages::new_service_submit),
        )
        .route(
            "/admin/services/{code}",
            get(access_pages::service_page).post(access_pages::service_submit),
        )
        .route(
            "/admin/tenants/{code}/services",
            get(access_pages::contract_page).post(access_pages::contract_submit),
        )
        .route("/admin/audit", get(system_pages::audit))
        .route("/admin/settings", get(system_pages::settings))
        .route(
            "/admin/settings/{name}",
            get(system_pages::setting_page).post(system_pages::setting_submit),
        )
        .route("/admin/statistics", get(system_pages::statistics))
        .route("/admin/tenants", get(admin::tenants))
        .route(
            "/admin/tenants/new",
            get(admin::new_tenant_page).post(admin::new_tenant_submit),
        )
        .route(
            "/admin/tenants/{code}",
            get(admin::tenant_page).post(admin::tenant_rename),
        )
}
