//! Per-request context: request id, client address, language, security headers, access log.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kapu_core::platform::i18n::Lang;
use kapu_core::{Actor, Kapu, RequestCtx};
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub id: String,
    pub client_addr: String,
    pub lang: Lang,
    /// Path and query, for links that come back here (the language switch).
    pub path: String,
    /// Who is behind a write, once a guard has resolved them: a refused write is audited.
    pub writer: WriterSlot,
    /// The installation's time zone, for times on pages.
    pub zone: chrono_tz::Tz,
    /// The client certificate the connection (or a trusted proxy) presented.
    pub client_cert: Option<kapu_core::actor::ClientCert>,
}

/// Filled by the session guards on writes only, so reads pay nothing for it.
#[derive(Debug, Clone, Default)]
pub struct WriterSlot(Arc<Mutex<Option<Actor>>>);

impl WriterSlot {
    pub fn remember(&self, method: &Method, actor: &Actor) {
        if !method.is_safe()
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(actor.clone());
        }
    }

    fn take(&self) -> Option<Actor> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

tokio::task_local! {
    /// Lets error rendering know the request id and language without threading them through.
    pub(crate) static CURRENT: RequestInfo;
}

pub(crate) fn current() -> RequestInfo {
    CURRENT.try_with(Clone::clone).unwrap_or(RequestInfo {
        id: String::new(),
        client_addr: String::new(),
        lang: Lang::Hu,
        path: "/".into(),
        writer: WriterSlot::default(),
        zone: kapu_core::platform::time_fmt::DEFAULT_ZONE,
        client_cert: None,
    })
}

/// How this request's reader reads times: the installation's zone and the page language.
pub(crate) fn zone_and_lang() -> (chrono_tz::Tz, Lang) {
    CURRENT
        .try_with(|i| (i.zone, i.lang))
        .unwrap_or((kapu_core::platform::time_fmt::DEFAULT_ZONE, Lang::Hu))
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Behind a proxy only the configured header counts (and only then); otherwise what the
/// TLS connection presented.
fn client_cert(kapu: &Kapu, req: &Request) -> Option<kapu_core::actor::ClientCert> {
    match &kapu.config().trust_client_cert_header {
        Some(name) => req
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(kapu_core::signon::certificates::from_proxy_header),
        None => req
            .extensions()
            .get::<crate::tls::PresentedCert>()
            .map(|c| c.0.clone()),
    }
}

fn client_addr(kapu: &Kapu, req: &Request) -> String {
    if kapu.config().trust_forwarded_for
        && let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return first.trim().to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) async fn stamp(State(kapu): State<Kapu>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = uuid::Uuid::now_v7().to_string();
    let lang = cookie(req.headers(), "kapu_lang")
        .and_then(Lang::parse)
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        });
    let info = RequestInfo {
        id: id.clone(),
        client_addr: client_addr(&kapu, &req),
        client_cert: client_cert(&kapu, &req),
        lang,
        // A server sees origin-form targets: the path and the query.
        path: req.uri().to_string(),
        writer: WriterSlot::default(),
        // Only pages show local times; the API keeps UTC.
        zone: if req.uri().path().starts_with("/api/") {
            kapu_core::platform::time_fmt::DEFAULT_ZONE
        } else {
            kapu.settings().zone().await
        },
    };
    let writer = info.writer.clone();
    req.extensions_mut().insert(info.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let api_docs = path.starts_with("/api/v1/docs");
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let mut response = CURRENT
        .scope(info, next.run(req))
        .instrument(span.clone())
        .await;
    let status = response.status();
    let labels = [
        ("route", route.unwrap_or_else(|| "unmatched".into())),
        ("method", method.as_str().to_owned()),
        ("status", status.as_str().to_owned()),
    ];
    metrics::counter!("kapu_http_requests_total", &labels).increment(1);
    metrics::histogram!("kapu_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    if matches!(status.as_u16(), 403 | 404)
        && let Some(actor) = writer.take()
        && let Err(e) = kapu
            .record_denied(&actor, &format!("{method} {path}"), status.as_u16())
            .await
    {
        tracing::error!(request_id = %id, error = %e, "recording a refused write failed");
    }
    let target = response.extensions().get::<FormTarget>().cloned();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Links carry one-time tokens: never leak them to other sites.
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    // A response with a policy of its own (a download's sandbox) keeps it.
    h.entry("content-security-policy")
        .or_insert_with(|| policy(api_docs, target.as_ref()));
    if kapu.config().public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    // A load balancer's probes come several times a second: at info they would fill the log
    // and cost the probe itself more than its answer.
    let probe = matches!(path.as_str(), "/healthz" | "/readyz") && status.is_success();
    span.in_scope(|| {
        let (status, ms) = (status.as_u16(), started.elapsed().as_millis() as u64);
        if probe {
            tracing::debug!(status, ms, "served");
        } else {
            tracing::info!(status, ms, "served");
        }
    });
    response
}

/// The one address outside Kapu that a page's form may lead to: the registered redirect (or
/// post-logout) address of the service the page answers for. A browser checks every redirect
/// after a form's submission against the page's `form-action`, so without it the consent
/// and login pages could never send the person back to the service.
#[derive(Clone, Debug)]
pub struct FormTarget(pub String);

impl FormTarget {
    /// Only an origin that [`kapu_core::sso::authorize::origin_of`] accepts.
    pub fn of(uri: &str) -> Option<FormTarget> {
        kapu_core::sso::authorize::origin_of(uri).map(FormTarget)
    }
}

/// The page's Content-Security-Policy: nothing but Kapu's own origin, and for a form that
/// leads to a service, that service's origin as a form target.
fn policy(api_docs: bool, target: Option<&FormTarget>) -> HeaderValue {
    // The API reference page (Swagger UI) styles itself inline and draws icons as data URIs.
    if api_docs {
        return HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        );
    }
    const STRICT: &str =
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    target
        .and_then(|t| {
            HeaderValue::from_str(&format!(
                "default-src 'self'; frame-ancestors 'none'; form-action 'self' {}; base-uri 'none'",
                t.0
            ))
            .ok()
        })
        .unwrap_or(HeaderValue::from_static(STRICT))
}

/// The request's context for the service layer.
pub struct Ctx(pub RequestCtx, pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<RequestInfo>()
            .cloned()
            .unwrap_or_else(current);
        Ok(Ctx(
            RequestCtx {
                client_addr: info.client_addr,
                request_id: info.id,
                client_cert: info.client_cert,
            },
            info.lang,
        ))
    }
}

pub(crate) async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready while the database answers. The pool waits for a reconnect up to its acquire
/// timeout; a readiness probe wants its answer sooner.
pub(crate) async fn readyz(State(kapu): State<Kapu>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), kapu.db().ping()).await;
    let problem = match ping {
        Ok(Ok(())) => {
            return Json(serde_json::json!({"status": "ready", "database": "ok"})).into_response();
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 2 s".to_string(),
    };
    tracing::warn!(%problem, "database not reachable");
    // The read-retry layer adds `Retry-After` to this, as to every 503.
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
    )
        .into_response()
}
