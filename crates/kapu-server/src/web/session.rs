//! Browser sessions: the session cookie, the page actor, and CSRF tokens.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::platform::crypto::constant_time_eq;
use kapu_core::{Actor, Error, Kapu};

use crate::context::{Ctx, cookie};

pub const SESSION_COOKIE: &str = "kapu_session";
/// Double-submit token for forms shown before login.
pub const CSRF_COOKIE: &str = "kapu_csrf";

pub fn set_cookie(
    kapu: &Kapu,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> (header::HeaderName, HeaderValue) {
    let secure = if kapu.config().secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    (
        header::SET_COOKIE,
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("")),
    )
}

/// A logged-in person on a page. Without a valid session: to the login page; with an
/// expired password: to the change page.
pub struct WebActor(pub Actor);

impl FromRequestParts<Kapu> for WebActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, kapu: &Kapu) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(Redirect::to("/login").into_response());
        };
        let Ok(Ctx(ctx, _)) = Ctx::from_request_parts(parts, kapu).await;
        match kapu.authenticate(&token, ctx).await {
            Ok(actor) => {
                if let Some(info) = parts.extensions.get::<crate::context::RequestInfo>() {
                    info.writer.remember(&parts.method, &actor);
                }
                // A program's session opens no page.
                if actor.technical {
                    return Err(Redirect::to("/login").into_response());
                }
                let path = parts.uri.path();
                if actor.restricted && path != "/password/change" && path != "/logout" {
                    return Err(Redirect::to("/password/change").into_response());
                }
                if actor.enrol_only && !path.starts_with("/profile/factors") && path != "/logout" {
                    return Err(Redirect::to("/profile/factors").into_response());
                }
                if actor.identity_pending && path != "/login/identity" && path != "/logout" {
                    return Err(Redirect::to("/login/identity").into_response());
                }
                Ok(WebActor(actor))
            }
            Err(Error::Unauthenticated) => Err((
                [set_cookie(kapu, SESSION_COOKIE, "", Some(0))],
                Redirect::to("/login"),
            )
                .into_response()),
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "session check found the database unavailable");
                Err(crate::error::status_of(&e).into_response())
            }
            Err(e) => {
                tracing::error!(error = %e, "session check failed");
                Err(crate::error::status_of(&e).into_response())
            }
        }
    }
}

/// Checks a posted CSRF token against the session's.
pub fn check_csrf(actor: &Actor, posted: &str) -> Result<(), CsrfRefused> {
    if constant_time_eq(actor.csrf.as_bytes(), posted.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfRefused)
    }
}

/// A form posted without the token its page carried.
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "CSRF token missing or invalid / Az űrlap érvénytelen: töltse be újra az oldalt.",
        )
            .into_response()
    }
}

/// The pre-login CSRF token, and a cookie to set when the browser has none of ours yet.
pub fn anon_csrf(
    kapu: &Kapu,
    headers: &HeaderMap,
) -> (String, Option<(header::HeaderName, HeaderValue)>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(t) if kapu.form_tokens().verify(t) => (t.to_string(), None),
        _ => {
            let t = kapu.form_tokens().issue().unwrap_or_default();
            let c = set_cookie(kapu, CSRF_COOKIE, &t, None);
            (t, Some(c))
        }
    }
}

/// The posted token must match the cookie and carry our signature, so a cookie planted by
/// someone else (with a field to match) does not pass.
pub fn check_anon_csrf(kapu: &Kapu, headers: &HeaderMap, posted: &str) -> Result<(), CsrfRefused> {
    match cookie(headers, CSRF_COOKIE) {
        Some(c)
            if constant_time_eq(c.as_bytes(), posted.as_bytes())
                && kapu.form_tokens().verify(posted) =>
        {
            Ok(())
        }
        _ => Err(CsrfRefused),
    }
}

/// Adds a cookie to a response when there is one to set.
pub fn with_cookie(
    set: Option<(header::HeaderName, HeaderValue)>,
    mut response: Response,
) -> Response {
    if let Some((name, value)) = set {
        response.headers_mut().append(name, value);
    }
    response
}
