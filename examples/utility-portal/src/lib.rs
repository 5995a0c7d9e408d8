//! An example utility provider's customer portal that logs people in through Kapu with a
//! stock OpenID Connect client (`openidconnect`), as the central system's document
//! describes: at the first login it asks the portal's own registration data (customer
//! number, address) and links it to the `sub`; later it recognises the person; it shows the
//! deputy acting for a customer (`act`); logging out ends both sessions.
//!
//! Everything the portal keeps is in memory: it is an example, not a product.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// How the portal reaches Kapu and is reached itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// Kapu's public address: the issuer.
    pub issuer: String,
    /// The portal's own public address (its callback is `<url>/callback`).
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The HTTP client `openidconnect` talks through: reqwest, which Kapu uses too.
#[derive(Clone)]
pub struct Http(pub reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] http::Error),
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut req = self
                .0
                .request(parts.method, parts.uri.to_string())
                .body(body);
            for (name, value) in &parts.headers {
                req = req.header(name, value);
            }
            let r = req.send().await?;
            let mut response = http::Response::builder().status(r.status());
            for (name, value) in r.headers() {
                response = response.header(name, value);
            }
            Ok(response.body(r.bytes().await?.to_vec())?)
        })
    }
}

/// What Kapu tells services beyond the standard claims.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KapuClaims {
    pub tenant: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The deputy acting for the subject (RFC 8693).
    pub act: Option<Actor>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Actor {
    pub sub: Option<String>,
    pub name: Option<String>,
}

impl AdditionalClaims for KapuClaims {}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Session {
    sub: String,
    name: String,
    login: String,
    act: Option<String>,
    id_token: String,
    refresh_token: Option<String>,
}

#[derive(Clone)]
struct Customer {
    number: String,
    address: String,
}

struct Portal {
    config: Config,
    client: Client,
    http: Http,
    /// Logins under way: state → PKCE verifier and nonce.
    pending: Mutex<HashMap<String, (String, String)>>,
    sessions: Mutex<HashMap<String, Session>>,
    /// The portal's own registration data, by Kapu's `sub`.
    customers: Mutex<HashMap<String, Customer>>,
    end_session: Option<String>,
}

const COOKIE: &str = "portal_session";

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"hu\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    ))
    .into_response()
}

fn failure(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "{what}");
    (StatusCode::BAD_GATEWAY, format!("{what}: {e}")).into_response()
}

/// Discovers Kapu and builds the portal's routes.
pub async fn router(config: Config) -> Result<Router, String> {
    let http = Http(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
    );
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| e.to_string())?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(|e| format!("cannot discover Kapu: {e}"))?;
    // Kapu publishes it beside the standard metadata.
    let end_session = http
        .0
        .get(format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        ))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?["end_session_endpoint"]
        .as_str()
        .map(str::to_string);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(
        RedirectUrl::new(format!("{}/callback", config.url.trim_end_matches('/')))
            .map_err(|e| e.to_string())?,
    );
    let portal = Arc::new(Portal {
        config,
        client,
        http,
        pending: Mutex::default(),
        sessions: Mutex::default(),
        customers: Mutex::default(),
        end_session,
    });
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/register", get(register_page).post(register))
        .route("/account/refresh", get(refresh))
        .route("/logout", post(logout))
        .with_state(portal))
}

async fn home(State(p): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let sessions = p.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = session_id(&headers).and_then(|id| sessions.get(&id)) else {
        return page(
            "Közmű ügyfélportál",
            "<p>Ön nincs bejelentkezve.</p><p><a href=\"/login\">Belépés Kapuval</a></p>",
        );
    };
    let customers = p.customers.lock().unwrap_or_else(|e| e.into_inner());
    let Some(c) = customers.get(&s.sub) else {
        return Redirect::to("/register").into_response();
    };
    let act = s
        .act
        .as_ref()
        .map(|a| format!("<p class=\"act\">Helyettesként eljár: {}</p>", escape(a)))
        .unwrap_or_default();
    page(
        "Közmű ügyfélportál",
        &format!(
            "<p>Üdvözöljük, {} ({})!</p>{act}<dl><dt>Ügyfélszám</dt><dd>{}</dd><dt>Cím</dt><dd>{}</dd></dl>\
             <form method=\"post\" action=\"/logout\"><button>Kijelentkezés</button></form>",
            escape(&s.name),
            escape(&s.login),
            escape(&c.number),
            escape(&c.address)
        ),
    )
}

/// Off to Kapu, with PKCE and a nonce.
async fn login(State(p): State<Arc<Portal>>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = p
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    p.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(
        state.secret().clone(),
        (verifier.secret().clone(), nonce.secret().clone()),
    );
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back from Kapu: the code for tokens, the ID token checked, the person recognised or
/// asked to register.
async fn callback(State(p): State<Arc<Portal>>, Query(q): Query<Callback>) -> Response {
    if let Some(e) = q.error {
        return (StatusCode::FORBIDDEN, format!("Kapu refused: {e}")).into_response();
    }
    let pending = q.state.as_deref().and_then(|s| {
        p.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(s)
    });
    let (Some(code), Some((verifier, nonce))) = (q.code, pending) else {
        return (StatusCode::BAD_REQUEST, "unknown login").into_response();
    };
    let exchange = match p.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(e) => e,
        Err(e) => return failure("no token endpoint", e),
    };
    let tokens = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&p.http)
        .await
    {
        Ok(t) => t,
        Err(e) => return failure("the code exchange failed", e),
    };
    let Some(id_token) = tokens.id_token() else {
        return failure("no ID token", "missing");
    };
    let verifier = p
        .client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa]);
    let claims = match id_token.claims(&verifier, &Nonce::new(nonce)) {
        Ok(c) => c.clone(),
        Err(e) => return failure("the ID token does not verify", e),
    };
    let info: UserInfoClaims<KapuClaims, CoreGenderClaim> =
        match p.client.user_info(tokens.access_token().clone(), None) {
            Ok(req) => match req.request_async(&p.http).await {
                Ok(i) => i,
                Err(e) => return failure("userinfo failed", e),
            },
            Err(e) => return failure("no userinfo endpoint", e),
        };
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .unwrap_or_default();
    let session = Session {
        sub: claims.subject().to_string(),
        name,
        login: claims
            .preferred_username()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        act: info
            .additional_claims()
            .act
            .as_ref()
            .and_then(|a| a.name.clone()),
        id_token: id_token.to_string(),
        refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
    };
    let known = p
        .customers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&session.sub);
    let id = CsrfToken::new_random().secret().clone();
    p.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), session);
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"),
        )],
        Redirect::to(if known { "/" } else { "/register" }),
    )
        .into_response()
}

async fn register_page(State(p): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let sessions = p.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = session_id(&headers).and_then(|id| sessions.get(&id)) else {
        return Redirect::to("/").into_response();
    };
    page(
        "Regisztráció",
        &format!(
            "<p>{}, első belépésekor adja meg a portál adatait.</p>\
             <form method=\"post\" action=\"/register\">\
             <label for=\"number\">Ügyfélszám</label><input id=\"number\" name=\"number\">\
             <label for=\"address\">Felhasználási hely címe</label><input id=\"address\" name=\"address\">\
             <button>Mentés</button></form>",
            escape(&s.name)
        ),
    )
}

#[derive(Deserialize)]
struct Registration {
    number: String,
    address: String,
}

async fn register(
    State(p): State<Arc<Portal>>,
    headers: HeaderMap,
    Form(f): Form<Registration>,
) -> Response {
    let sub = {
        let sessions = p.sessions.lock().unwrap_or_else(|e| e.into_inner());
        session_id(&headers)
            .and_then(|id| sessions.get(&id))
            .map(|s| s.sub.clone())
    };
    let Some(sub) = sub else {
        return Redirect::to("/").into_response();
    };
    if f.number.trim().is_empty() || f.address.trim().is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "both fields are needed").into_response();
    }
    p.customers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            sub,
            Customer {
                number: f.number.trim().to_string(),
                address: f.address.trim().to_string(),
            },
        );
    Redirect::to("/").into_response()
}

/// New tokens with the refresh token, as a portal does when its access token runs out.
async fn refresh(State(p): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let id = session_id(&headers).unwrap_or_default();
    let token = p
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .and_then(|s| s.refresh_token.clone());
    let Some(token) = token else {
        return Redirect::to("/").into_response();
    };
    let token = RefreshToken::new(token);
    let request = match p.client.exchange_refresh_token(&token) {
        Ok(r) => r,
        Err(e) => return failure("no token endpoint", e),
    };
    match request.request_async(&p.http).await {
        Ok(t) => {
            if let Some(s) = p
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&id)
            {
                s.refresh_token = t.refresh_token().map(|r| r.secret().clone());
            }
            page("Frissítve", "<p>A belépés megújult.</p>")
        }
        Err(e) => failure("refresh failed", e),
    }
}

/// Ends the portal's session, then Kapu's (RP-initiated logout), and comes back home.
async fn logout(State(p): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let session = session_id(&headers).and_then(|id| {
        p.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
    });
    let clear = (
        header::SET_COOKIE,
        format!("{COOKIE}=; Path=/; HttpOnly; Max-Age=0"),
    );
    match (session, &p.end_session) {
        (Some(s), Some(end)) => {
            let home = format!("{}/", p.config.url.trim_end_matches('/'));
            let mut url = match reqwest::Url::parse(end) {
                Ok(u) => u,
                Err(e) => return failure("bad end-session address", e),
            };
            url.query_pairs_mut()
                .append_pair("id_token_hint", &s.id_token)
                .append_pair("post_logout_redirect_uri", &home);
            ([clear], Redirect::to(url.as_str())).into_response()
        }
        _ => ([clear], Redirect::to("/")).into_response(),
    }
}
