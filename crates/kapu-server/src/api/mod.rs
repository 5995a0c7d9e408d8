//! The JSON API under `/api/v1`.

mod access;
mod audit;
mod extract;
mod openapi;
mod session;
mod settings;
mod tenants;
mod users;

use axum::Router;
use axum::routing::{delete, get, post, put};
use kapu_core::Kapu;

pub use extract::{AnyApiActor, ApiActor, ApiJson, ApiQuery};

pub fn router() -> Router<Kapu> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/session", post(session::login).delete(session::logout))
        .route("/sessions", delete(session::logout_everywhere))
        .route("/me", get(session::me))
        .route("/me/password", put(session::change_password))
        .route(
            "/me/password-warning/silence",
            post(session::silence_warning),
        )
        .route("/activation", post(session::activate))
        .route("/password-reset", post(session::request_reset))
        .route("/password-reset/complete", post(session::complete_reset))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/tenants/{tenant}",
            get(tenants::read).patch(tenants::rename),
        )
        .route(
            "/tenants/{tenant}/users",
            get(users::list).post(users::create),
        )
        .route(
            "/tenants/{tenant}/users/{login}",
            get(users::read).patch(users::update).delete(users::remove),
        )
        .route("/tenants/{tenant}/users/{login}/lock", post(users::lock))
        .route(
            "/tenants/{tenant}/users/{login}/unlock",
            post(users::unlock),
        )
        .route(
            "/tenants/{tenant}/users/{login}/password",
            put(users::set_password),
        )
        .route(
            "/tenants/{tenant}/users/{login}/activation-link",
            post(users::resend_activation),
        )
        .route(
            "/tenants/{tenant}/settings/{name}",
            put(settings::set_tenant).delete(settings::clear_tenant),
        )
        .route("/settings", get(settings::list))
        .route(
            "/settings/{name}",
            get(settings::read).put(settings::set_global),
        )
        .route("/audit", get(audit::search))
        .route("/me/roles", get(session::my_roles))
        .route("/me/substitutions", get(session::my_substitutions))
        .route("/me/identity-choices", get(session::identity_choices))
        .route("/session/identity", post(access::choose_identity))
        .route(
            "/services",
            get(access::services).post(access::create_service),
        )
        .route(
            "/services/{code}",
            get(access::service).patch(access::update_service),
        )
        .route("/roles", get(access::roles))
        .route(
            "/tenants/{tenant}/services",
            get(access::contract).put(access::set_contract),
        )
        .route("/tenants/{tenant}/roles", get(access::grantable))
        .route(
            "/tenants/{tenant}/groups",
            get(access::groups).post(access::create_group),
        )
        .route(
            "/tenants/{tenant}/groups/{code}",
            get(access::group)
                .patch(access::update_group)
                .delete(access::delete_group),
        )
        .route(
            "/tenants/{tenant}/users/{login}/rights",
            get(access::rights).put(access::set_rights),
        )
        .route(
            "/tenants/{tenant}/substitutions",
            get(access::substitutions).post(access::create_substitution),
        )
        .route(
            "/tenants/{tenant}/substitutions/{id}",
            get(access::substitution)
                .patch(access::update_substitution)
                .delete(access::delete_substitution),
        )
}
