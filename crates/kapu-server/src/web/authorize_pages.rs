//! The authorization endpoint's pages: a service sends the browser here; Kapu's own login
//! (with its second step) runs if needed, then the consent page the first time, then the
//! browser goes back to the service with a one-time code.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::sso::authorize::{AuthorizationRequest, AuthorizeError, CheckedRequest, Decision};
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Frame, render};
use super::login_pages::frame_for;
use super::session::{SESSION_COOKIE, check_csrf};
use super::table::error_page;
use crate::context::{Ctx, cookie};

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
    kapu.authenticate(token, ctx.0.clone()).await.ok()
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
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
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
            render(StatusCode::OK, &page)
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
