//! The OpenID Connect provider's machine endpoints: discovery, the token endpoint and
//! userinfo. Their answers are the RFCs' own (form in, JSON out, OAuth error bodies), not
//! the JSON API's; the browser side is in `web::authorize_pages`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use kapu_core::Kapu;
use kapu_core::sso::tokens::{OAuthError, TokenRequest};
use serde::Deserialize;
use serde_json::json;

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(kapu): State<Kapu>) -> Response {
    let iss = kapu.config().public_url.trim_end_matches('/').to_string();
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["EdDSA", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "roles"],
        "claims_supported": ["sub", "name", "email", "preferred_username", "tenant", "roles", "act",
            "auth_time", "amr", "acr", "nonce", "sid"],
        "acr_values_supported": ["urn:kapu:acr:pwd", "urn:kapu:acr:mfa"],
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": false,
    });
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        Json(doc),
    )
        .into_response()
}

fn oauth_error(e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({"error": e.error, "error_description": e.description})),
    )
        .into_response();
    if e.status == 401 {
        let challenge = if e.error == "invalid_token" {
            "Bearer error=\"invalid_token\""
        } else {
            "Basic realm=\"kapu\""
        };
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    resp
}

#[derive(Deserialize, Default)]
pub struct TokenForm {
    /// Revocation and introspection: the token asked about.
    token: Option<String>,
    #[serde(default)]
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// The endpoint's form; anything else (a JSON body, a broken form) is answered as OAuth
/// answers a bad request (RFC 6749 5.2), in JSON, never as a bare 415.
pub struct OAuthForm(TokenForm);

impl<S: Send + Sync> axum::extract::FromRequest<S> for OAuthForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<TokenForm>::from_request(req, state).await {
            Ok(axum::Form(form)) => Ok(OAuthForm(form)),
            Err(_) => Err(oauth_error(OAuthError {
                error: "invalid_request",
                description: "the request must be an application/x-www-form-urlencoded form",
                status: 400,
            })),
        }
    }
}

/// `client_secret_basic`: the client id and secret, form-encoded, in Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The request with the client's credentials from Basic authentication or the form.
fn client_request(headers: &HeaderMap, form: TokenForm) -> TokenRequest {
    let (client_id, client_secret) = match basic_credentials(headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id, form.client_secret),
    };
    TokenRequest {
        grant_type: form.grant_type,
        code: form.code,
        redirect_uri: form.redirect_uri,
        code_verifier: form.code_verifier,
        refresh_token: form.refresh_token,
        client_id,
        client_secret,
        client_assertion_type: form.client_assertion_type,
        client_assertion: form.client_assertion,
    }
}

/// `POST /oauth2/token`.
pub async fn token(
    State(kapu): State<Kapu>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let req = client_request(&headers, form);
    match kapu.token(&req).await {
        Ok(t) => (
            [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            Json(t),
        )
            .into_response(),
        Err(e) => oauth_error(e),
    }
}

/// `GET`/`POST /oauth2/userinfo` with the access token as a bearer token.
pub async fn userinfo(State(kapu): State<Kapu>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match kapu.userinfo(bearer.trim()).await {
        Ok(claims) => Json(claims).into_response(),
        Err(e) => oauth_error(e),
    }
}

/// `POST /oauth2/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    State(kapu): State<Kapu>,
    headers: HeaderMap,
    OAuthForm(mut form): OAuthForm,
) -> Response {
    let token = form.token.take().unwrap_or_default();
    let req = client_request(&headers, form);
    match kapu.revoke_token(&req, &token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => oauth_error(e),
    }
}

/// `POST /oauth2/introspect` (RFC 7662).
pub async fn introspect(
    State(kapu): State<Kapu>,
    headers: HeaderMap,
    OAuthForm(mut form): OAuthForm,
) -> Response {
    let token = form.token.take().unwrap_or_default();
    let req = client_request(&headers, form);
    match kapu.introspect(&req, &token).await {
        Ok(v) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(v),
        )
            .into_response(),
        Err(e) => oauth_error(e),
    }
}
