//! Login, identity choice, logout and the language switch.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::identity::password_policy::ExpiryStatus;
use kapu_core::platform::i18n::Lang;
use kapu_core::signon::login::{Identity, LoginResult, LoginStep};
use kapu_core::{Actor, Error, Kapu, Mode};
use serde::Deserialize;

use super::frame::{Frame, MessagePage, render};
use super::session::{
    SESSION_COOKIE, WebActor, anon_csrf, check_anon_csrf, check_csrf, set_cookie, with_cookie,
};
use crate::context::{Ctx, FormTarget, cookie};
use crate::error::retry_after;

pub(super) fn frame_for(ctx: &Ctx, actor: Option<&Actor>, csrf: String) -> Frame {
    Frame::new(ctx.1, actor, csrf, ctx.0.request_id.clone())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    f: Frame,
    login: String,
    mode: String,
    notice_text: String,
    /// The service this login is for: named on the page, which asks for no mode (the
    /// service's own request says whether a second step is needed).
    service: String,
}

/// The service a login is for, from its request in `next` or in the cookie.
async fn service_of(kapu: &Kapu, next: Option<&str>) -> Option<(FormTarget, String, String)> {
    let next = next.filter(|n| safe_next(n))?;
    let (target, name) = super::authorize_pages::service_login(kapu, next).await?;
    Some((target, name, next.to_string()))
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    mode: Option<String>,
    /// Where a service's login goes on after Kapu's (`/oauth2/authorize?…` only).
    next: Option<String>,
}

/// Holds where a login goes on (a service's authorization request) across the login pages.
pub const NEXT_COOKIE: &str = "kapu_next";

/// Only an authorization request of Kapu's own: never a way out to another site.
/// It travels in a cookie, so it holds nothing a cookie header could read as an attribute
/// or another cookie (`;`, `,`, spaces, quotes): its parameters arrive percent-encoded.
fn safe_next(next: &str) -> bool {
    next.starts_with("/oauth2/authorize?")
        && next.len() <= 4000
        && next
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

/// The login pages of a service's login (its request in `next` or in the cookie) allow the
/// service's registered address as a form target: the form's answer leads there.
pub(super) async fn toward_service(
    State(kapu): State<Kapu>,
    req: axum::extract::Request,
    run: axum::middleware::Next,
) -> Response {
    let carried = Query::<LoginQuery>::try_from_uri(req.uri())
        .ok()
        .and_then(|Query(q)| q.next)
        .or_else(|| cookie(req.headers(), NEXT_COOKIE).map(str::to_string))
        .filter(|n| safe_next(n));
    let mut resp = run.run(req).await;
    let page = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let decided = resp.extensions().get::<FormTarget>().is_some();
    if let Some(next) = carried
        && page
        && !decided
        && let Some(target) = super::authorize_pages::flow_target(&kapu, &next).await
    {
        resp.extensions_mut().insert(target);
    }
    resp
}

/// The response of a finished login: the session cookie, and on to the page it must see
/// first, else to the service's request it came for, else home.
pub(super) fn logged_in(kapu: &Kapu, headers: &HeaderMap, r: &LoginResult) -> Response {
    let first = next_after_login(r);
    // A page the login must see first (a new password, the identity choice) keeps the
    // service's request for after it.
    let next = cookie(headers, NEXT_COOKIE).filter(|n| first == "/" && safe_next(n));
    let mut resp = (
        [set_cookie(kapu, SESSION_COOKIE, &r.token, None)],
        Redirect::to(next.unwrap_or(first)),
    )
        .into_response();
    if next.is_some() {
        let (name, value) = set_cookie(kapu, NEXT_COOKIE, "", Some(0));
        resp.headers_mut().append(name, value);
    }
    resp
}

pub async fn login_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let notice = kapu
        .settings()
        .snapshot("")
        .await
        .map(|s| s.text("system_notice").to_string())
        .unwrap_or_default();
    // Only a request that checks out is carried: a forged one is not kept for after login.
    let service = service_of(&kapu, q.next.as_deref()).await;
    let page = LoginPage {
        f: frame_for(&ctx, None, csrf),
        login: String::new(),
        mode: q.mode.unwrap_or_default(),
        notice_text: notice,
        service: service.as_ref().map(|s| s.1.clone()).unwrap_or_default(),
    };
    let mut resp = with_cookie(set, render(StatusCode::OK, &page));
    if let Some((target, _, next)) = service {
        // The page's form target too: `toward_service` need not check the request again.
        resp.extensions_mut().insert(target);
        let (name, value) = set_cookie(&kapu, NEXT_COOKIE, &next, Some(600));
        resp.headers_mut().append(name, value);
    }
    resp
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    mode: String,
}

pub async fn login_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(r) = check_anon_csrf(&kapu, &headers, &form.csrf) {
        return r.into_response();
    }
    let mode = Mode::parse(&form.mode).unwrap_or(Mode::Normal);
    match kapu
        .login(
            &ctx.0,
            &form.login,
            &form.password,
            mode,
            Identity::ChooseLater,
        )
        .await
    {
        Ok(LoginStep::Session(r)) => logged_in(&kapu, &headers, &r),
        Ok(LoginStep::SecondFactor(c)) => super::second_step_pages::to_second_step(&kapu, &c),
        Err(e) => {
            let service = service_of(&kapu, cookie(&headers, NEXT_COOKIE)).await;
            let mut page = LoginPage {
                f: frame_for(&ctx, None, form.csrf.clone()),
                login: form.login.clone(),
                mode: form.mode.clone(),
                notice_text: String::new(),
                service: service.map(|s| s.1).unwrap_or_default(),
            };
            if matches!(e, Error::InvalidCredentials | Error::AccountLocked) {
                // Point the summary at the field the person will retype.
                page.f.fail(&e);
                if let Some(first) = page.f.errors.items.first_mut() {
                    first.0 = "password".into();
                }
            } else {
                page.f.fail(&e);
            }
            refused(&page, &e)
        }
    }
}

/// A login page showing a refusal, with the refusal's status and, for a throttle or lock,
/// its `Retry-After`.
pub(super) fn refused(page: &impl Template, e: &Error) -> Response {
    let mut resp = render(crate::error::status_of(e), page);
    if let Some(secs) = retry_after(e)
        && let Ok(v) = secs.to_string().parse()
    {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    resp
}

/// The page a new session opens on: what it must do first, or the home page.
pub(super) fn next_after_login(r: &LoginResult) -> &'static str {
    if r.password_change_required {
        "/password/change"
    } else if r.enrol_only {
        "/profile/factors"
    } else if r.identity_pending {
        "/login/identity"
    } else if matches!(r.expiry, ExpiryStatus::Warning { .. }) {
        "/password/warning"
    } else {
        "/"
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if let Err(e) = kapu.end_session(&actor).await {
        tracing::error!(error = %e, "logout failed");
    }
    (
        [set_cookie(&kapu, SESSION_COOKIE, "", Some(0))],
        Redirect::to("/login"),
    )
        .into_response()
}

pub async fn logout_everywhere(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if let Err(e) = kapu.end_all_sessions(&actor).await {
        tracing::error!(error = %e, "logout everywhere failed");
    }
    (
        [set_cookie(&kapu, SESSION_COOKIE, "", Some(0))],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// `back` when it is a path on this server, else `/`: an absolute path (not `//host`), of
/// visible ASCII only (browsers drop tabs and line breaks, which would turn `/\t/evil.example`
/// into `//evil.example`), without backslashes (which browsers read as slashes), that parses
/// as a path and query.
pub(crate) fn local_path(back: &str) -> &str {
    let local = back.starts_with('/')
        && !back.starts_with("//")
        && back.chars().all(|c| c.is_ascii_graphic() && c != '\\')
        && !back.starts_with("/lang")
        && back.parse::<axum::http::uri::PathAndQuery>().is_ok();
    if local { back } else { "/" }
}

/// Switches the language and returns to the page the switch was on (only a local path:
/// never an address elsewhere).
pub async fn switch_language(State(kapu): State<Kapu>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or_default();
    let back = local_path(&q.back);
    (
        [set_cookie(
            &kapu,
            "kapu_lang",
            lang.code(),
            Some(31_536_000),
        )],
        Redirect::to(back),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    f: Frame,
    own: String,
    choices: Vec<(String, String)>,
}

/// Right after login, a deputy chooses whose identity to act in.
pub async fn identity_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    if !actor.identity_pending {
        return Redirect::to("/").into_response();
    }
    let f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let choices = match kapu.identity_choices(&actor).await {
        Ok(c) => c.into_iter().map(|p| (p.login, p.full_name)).collect(),
        Err(e) => {
            tracing::error!(error = %e, "identity choices failed");
            Vec::new()
        }
    };
    let page = IdentityPage {
        own: actor.full_name.clone(),
        choices,
        f,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    act_for: String,
}

pub async fn identity_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    WebActor(actor): WebActor,
    Form(form): Form<IdentityForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let choice = Some(form.act_for.as_str()).filter(|p| !p.is_empty() && *p != "-");
    match kapu.choose_identity(&actor, choice).await {
        // On to the service's request the login came for, if any.
        Ok(()) => {
            let target = cookie(&headers, NEXT_COOKIE)
                .filter(|n| safe_next(n))
                .unwrap_or("/");
            let mut resp = Redirect::to(target).into_response();
            let (name, value) = set_cookie(&kapu, NEXT_COOKIE, "", Some(0));
            resp.headers_mut().append(name, value);
            resp
        }
        Err(e) => {
            let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
            let status = f.fail(&e);
            let t = f.t;
            render(
                status,
                &MessagePage {
                    f,
                    title: t.t("identity.title").into(),
                    body: String::new(),
                    links: vec![("/login/identity".into(), t.t("identity.title").into())],
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_a_local_path_is_a_place_to_return_to() {
        for ok in ["/", "/admin/users?page=2&q=Kov%C3%A1cs", "/profile"] {
            assert_eq!(local_path(ok), ok);
        }
        for bad in [
            "/\t/evil.example",
            "/\n/x",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/ /x",
            "/lang?to=en",
            "/é",
            "",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
