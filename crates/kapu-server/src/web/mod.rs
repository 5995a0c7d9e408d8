//! Server-rendered pages: Hungarian by default, English by switch; work without JavaScript.

mod account;
mod admin;
mod frame;
mod session;

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
