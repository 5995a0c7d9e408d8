//! The authorization endpoint's pages: a service sends the browser here; Kapu's own login
//! (with its second step) runs if needed, then the consent page the first time, then the
//! browser goes back to the service with a one-time code.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::sso::authorize::{AuthorizationRequest, AuthorizeError, CheckedRequest, Decision};
use kapu_core::sso::logout::LogoutRequest;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Frame, render};
use super::login_pages::frame_for;
use super::session::{SESSION_COOKIE, check_csrf, set_cookie};
use super::table::error_page;
use crate::context::{Ctx, FormTarget, cookie};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    f: Frame,
    service: String,
    scopes: Vec<String>,
    /// The request's own parameters, sent back with the answer.
    fields: Vec<(&'static str, String)>,
}

/// The logged-in person, if the browser has a live session.
async fn session_actor(kapu: &Kapu, ctx: &Ctx, headers: &HeaderMap) -> Option<Actor> {
    let token = cookie(headers, SESSION_COOKIE)?;
    kapu.authenticate(token, ctx.0.clone())
        .await
        .ok()
        .filter(|a| !a.technical)
}

/// An address to log in through and come back to this request, without `prompt` (a login
/// just made is the fresh one it asked for).
fn login_then(query: &AuthorizationRequest) -> Response {
    let mut again = query.clone();
    again.prompt = None;
    again.max_age = None;
    let next = kapu_core::sso::authorize::with_params(
        "/oauth2/authorize",
        &fields(&again)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    let login = kapu_core::sso::authorize::with_params("/login", &[("next", &next)]);
    Redirect::to(&login).into_response()
}

fn fields(q: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    [
        ("response_type", &q.response_type),
        ("client_id", &q.client_id),
        ("redirect_uri", &q.redirect_uri),
        ("scope", &q.scope),
        ("state", &q.state),
        ("nonce", &q.nonce),
        ("code_challenge", &q.code_challenge),
        ("code_challenge_method", &q.code_challenge_method),
        ("prompt", &q.prompt),
        ("max_age", &q.max_age),
        ("acr_values", &q.acr_values),
        ("response_mode", &q.response_mode),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

/// The registered address an authorization request that Kapu's login carries (`next`) goes
/// back to, as the login pages' form target. Nothing for a request that does not check out:
/// a forged `next` widens no page's policy.
pub(super) async fn flow_target(kapu: &Kapu, next: &str) -> Option<FormTarget> {
    service_login(kapu, next).await.map(|(t, _)| t)
}

/// A service's login that checks out: its form target, and the service's name for the page.
pub(super) async fn service_login(kapu: &Kapu, next: &str) -> Option<(FormTarget, String)> {
    let uri: axum::http::Uri = next.parse().ok()?;
    let Query(req) = Query::<AuthorizationRequest>::try_from_uri(&uri).ok()?;
    let checked = kapu.check_authorization(&req).await.ok()?;
    Some((
        FormTarget::of(&checked.redirect_uri)?,
        checked.client_name().to_string(),
    ))
}

/// A page whose form may lead to `uri` (a registered address).
fn targeting(mut resp: Response, uri: &str) -> Response {
    if let Some(t) = FormTarget::of(uri) {
        resp.extensions_mut().insert(t);
    }
    resp
}

/// A refusal that must not go back to the client: a page, 400.
fn refusal_page(ctx: &Ctx, actor: Option<&Actor>, e: &Error) -> Response {
    let f = frame_for(ctx, actor, String::new());
    let mut resp = error_page(f, e);
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp
}

fn refused(ctx: &Ctx, actor: Option<&Actor>, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(e) => refusal_page(ctx, actor, &e),
        AuthorizeError::Redirect(to) => Redirect::to(&to).into_response(),
    }
}

async fn decide(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    query: &AuthorizationRequest,
    checked: &CheckedRequest,
) -> Response {
    match kapu.authorize(actor, checked).await {
        Ok(Decision::Redirect(to)) => Redirect::to(&to).into_response(),
        Ok(Decision::Login) => login_then(query),
        Ok(Decision::Consent) => {
            let f = frame_for(ctx, Some(actor), actor.csrf.clone());
            let t = f.t;
            let page = ConsentPage {
                service: checked.client_name().to_string(),
                scopes: checked
                    .scope
                    .iter()
                    .map(|s| t.t(&format!("sso.scope_{s}")).to_string())
                    .collect(),
                fields: fields(query),
                f,
            };
            targeting(render(StatusCode::OK, &page), &checked.redirect_uri)
        }
        Err(e) => refused(ctx, Some(actor), e),
    }
}

/// `GET /oauth2/authorize`.
pub async fn authorize(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query<AuthorizationRequest>,
) -> Response {
    let checked = match kapu.check_authorization(&query).await {
        Ok(c) => c,
        Err(e) => return refused(&ctx, None, e),
    };
    let Some(actor) = session_actor(&kapu, &ctx, &headers).await else {
        // OpenID Connect Core 3.1.2.1: no page may be shown, so the client hears it.
        if checked.prompt_none {
            return Redirect::to(&checked.refusal("login_required", "the user must log in"))
                .into_response();
        }
        return login_then(&query);
    };
    decide(&kapu, &ctx, &actor, &query, &checked).await
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(flatten)]
    request: AuthorizationRequest,
}

/// `POST /oauth2/authorize/consent`: allowed, the code; denied, `access_denied`.
pub async fn consent(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let Some(actor) = session_actor(&kapu, &ctx, &headers).await else {
        return login_then(&form.request);
    };
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let checked = match kapu.check_authorization(&form.request).await {
        Ok(c) => c,
        Err(e) => return refused(&ctx, Some(&actor), e),
    };
    if form.decision != "allow" {
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "the user did not allow it"),
        ];
        if let Some(s) = &checked.state {
            params.push(("state", s));
        }
        return Redirect::to(&kapu_core::sso::authorize::with_params(
            &checked.redirect_uri,
            &params,
        ))
        .into_response();
    }
    if let Err(e) = kapu.give_consent(&actor, &checked).await {
        return refusal_page(&ctx, Some(&actor), &e);
    }
    decide(&kapu, &ctx, &actor, &form.request, &checked).await
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutPage {
    f: Frame,
    fields: Vec<(&'static str, String)>,
}

fn logout_fields(q: &LogoutRequest) -> Vec<(&'static str, String)> {
    [
        ("id_token_hint", &q.id_token_hint),
        ("client_id", &q.client_id),
        ("post_logout_redirect_uri", &q.post_logout_redirect_uri),
        ("state", &q.state),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

/// Ends the browser's session (and the services') and goes where the plan says.
async fn log_out(kapu: &Kapu, actor: Option<&Actor>, target: Option<String>) -> Response {
    if let Some(actor) = actor
        && let Err(e) = kapu.end_session(actor).await
    {
        tracing::error!(error = %e, "logout failed");
    }
    (
        [set_cookie(kapu, SESSION_COOKIE, "", Some(0))],
        Redirect::to(target.as_deref().unwrap_or("/login")),
    )
        .into_response()
}

/// `GET /oauth2/logout` (RP-initiated logout). With an ID token hint naming this very
/// session, at once; otherwise the person confirms, so that no other site can log them out.
pub async fn logout(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<LogoutRequest>,
) -> Response {
    let plan = match kapu.plan_logout(&q).await {
        Ok(p) => p,
        Err(e) => return refusal_page(&ctx, None, &e),
    };
    let Some(actor) = session_actor(&kapu, &ctx, &headers).await else {
        return log_out(&kapu, None, plan.target).await;
    };
    if plan.hinted_session.as_deref() == Some(actor.session_id.as_str()) {
        return log_out(&kapu, Some(&actor), plan.target).await;
    }
    let page = LogoutPage {
        f: frame_for(&ctx, Some(&actor), actor.csrf.clone()),
        fields: logout_fields(&q),
    };
    let resp = render(StatusCode::OK, &page);
    match &plan.target {
        Some(to) => targeting(resp, to),
        None => resp,
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    request: LogoutRequest,
}

/// `POST /oauth2/logout`: the person confirmed.
pub async fn logout_confirmed(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let actor = session_actor(&kapu, &ctx, &headers).await;
    if let Some(a) = &actor
        && let Err(r) = check_csrf(a, &form.csrf)
    {
        return r.into_response();
    }
    let target = kapu
        .plan_logout(&form.request)
        .await
        .ok()
        .and_then(|p| p.target);
    log_out(&kapu, actor.as_ref(), target).await
}
