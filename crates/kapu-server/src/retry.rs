//! A read that met a lost database connection is tried once more. When PostgreSQL restarts,
//! the queries in flight and the pooled connections die with it; the second attempt waits
//! until a fresh connection answers (none opened before the failure is handed out again) and
//! then runs on it. Only reads are tried twice: a write may have committed before its answer
//! was lost.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use kapu_core::Kapu;

use crate::error::UNAVAILABLE_RETRY_SECS;

/// A first attempt that failed slower than this waited for the pool to reconnect until its
/// acquire timeout (10 s): the database is down, not restarting, and a second attempt would
/// only double the wait. A lost connection fails in milliseconds.
const FAST_FAILURE: Duration = Duration::from_secs(5);

/// How long the second attempt waits for the database to answer again (as long as the
/// pool waits for a connection).
const REACHABLE_WITHIN: Duration = Duration::from_secs(10);

pub(crate) async fn reads(State(kapu): State<Kapu>, req: Request, next: Next) -> Response {
    // The readiness probe reports the database as it finds it.
    if !matches!(*req.method(), Method::GET | Method::HEAD) || req.uri().path() == "/readyz" {
        return with_retry_after(next.run(req).await);
    }
    let (parts, body) = req.into_parts();
    // Reads carry no body that a handler takes: the second attempt goes without one.
    let again = parts.clone();
    let started = Instant::now();
    let first = next.clone().run(Request::from_parts(parts, body)).await;
    if first.status() != StatusCode::SERVICE_UNAVAILABLE || started.elapsed() > FAST_FAILURE {
        return with_retry_after(first);
    }
    tracing::info!(path = %again.uri.path(), "database connection lost; trying the read again");
    kapu.db().renew_connections();
    if !kapu.db().reachable(REACHABLE_WITHIN).await {
        return with_retry_after(first);
    }
    with_retry_after(next.run(Request::from_parts(again, Body::empty())).await)
}

/// Every 503 says when to come back, also the pages' (their handlers only set the status).
fn with_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from(UNAVAILABLE_RETRY_SECS));
    }
    response
}
