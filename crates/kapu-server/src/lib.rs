#![recursion_limit = "256"]
//! Kapu's front doors: the JSON API and the web pages, over one service layer.

pub mod api;
mod context;
mod error;
mod exports;
pub mod listener;
mod mailbox_exports;
pub mod metrics;
mod oidc;
mod retry;
pub mod tls;
mod transfer;
mod vault_forms;
mod web;

use axum::Router;
use axum::routing::get;
use kapu_core::Kapu;

pub use context::RequestInfo;

/// Every route of the server.
pub fn router(kapu: Kapu) -> Router {
    Router::new()
        .route("/healthz", get(context::healthz))
        .route("/readyz", get(context::readyz))
        .nest("/api/v1", api::router())
        .merge(api::docs_router())
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/oauth2/token", axum::routing::post(oidc::token))
        .route("/oauth2/revoke", axum::routing::post(oidc::revoke))
        .route("/oauth2/introspect", axum::routing::post(oidc::introspect))
        .route("/oauth2/userinfo", get(oidc::userinfo).post(oidc::userinfo))
        .route("/schemas/boritek.xsd", get(api::envelope_schema))
        .merge(web::router(&kapu))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(256 * 1024))
        .merge(
            Router::new()
                .nest("/api/v1", api::upload_router())
                .merge(web::upload_router())
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .layer(axum::middleware::from_fn_with_state(
            kapu.clone(),
            retry::reads,
        ))
        .layer(axum::middleware::from_fn_with_state(
            kapu.clone(),
            context::stamp,
        ))
        .with_state(kapu)
}

/// The mail and mailbox workers, which run beside either listener.
pub(crate) fn start_workers(kapu: &Kapu) {
    tokio::spawn(kapu.clone().run_mail_worker());
    tokio::spawn(kapu.clone().run_mailbox_worker());
    tokio::spawn(kapu.clone().run_sso_worker());
}

/// Serves a router built by [`router`] (possibly wrapped in further layers) until the
/// listener fails; the background workers run alongside.
pub async fn serve_router(
    kapu: Kapu,
    router: Router,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    start_workers(&kapu);
    let config = kapu.config();
    let header_timeout = config.header_timeout;
    listener::accept_loop(
        listener,
        config.connections_per_address,
        config.idle_timeout,
        move |stream, addr| {
            listener::serve_connection(stream, addr, router.clone(), |_| {}, header_timeout)
        },
    )
    .await;
    Ok(())
}
