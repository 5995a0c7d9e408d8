//! Prometheus metrics, served on their own listen address so they are never public by
//! accident. The recorder is installed only when that address is configured.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kapu_core::Kapu;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Seconds: from a fast read to a slow password hash.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Installs the process-wide recorder once; later calls share it.
pub fn install() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::error!(error = %e, "cannot install the metrics recorder");
                    None
                }
            }
        })
        .as_ref()
}

async fn scrape(State(kapu): State<Kapu>) -> Response {
    let Some(handle) = install() else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Gauges are read when asked for, not kept up to date on every change.
    let pool = kapu.db().pool();
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    metrics::gauge!("kapu_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("kapu_db_pool_connections", "state" => "in_use").set(size - idle);
    match kapu.mail_queue_depth().await {
        Ok(n) => metrics::gauge!("kapu_mail_queue_depth").set(n as f64),
        Err(e) => tracing::error!(error = %e, "cannot count the mail queue"),
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// Serves `GET /metrics` until the listener fails.
pub async fn serve(kapu: Kapu, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    install();
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(kapu);
    axum::serve(listener, router).await
}
