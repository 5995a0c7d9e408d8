//! Services as OpenID Connect clients: their registration, secret and lifecycle. Central
//! framework administrators, in secure mode.

use axum::Json;
use axum::extract::{Path, State};
use kapu_core::Kapu;
use kapu_core::sso::clients::{ClientInput, ClientState, RegisteredClient, SsoClient};
use kapu_core::sso::connections::ConnectedService;
use kapu_core::sso::onboarding::ServiceRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::{Conflict, Forbidden, Internal, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiJson};
use crate::error::ApiError;

/// A service's client registration.
#[utoipa::path(get, path = "/services/{code}/client", tag = "access",
    params(("code" = String, Path)),
    responses((status = 200, body = SsoClient), Unauthorized, Forbidden, NotFound, Internal))]
pub async fn read(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<Json<SsoClient>, ApiError> {
    Ok(Json(kapu.get_client(&actor, &code).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ClientBody {
    /// `confidential` (authenticates with a secret) or `public` (PKCE alone).
    #[schema(pattern = "^(confidential|public)$")]
    client_type: String,
    /// Exact addresses the browser may be sent back to: `https://`, or `http://` on the
    /// local machine for development.
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Where Kapu posts logout tokens (Back-Channel Logout) when a session ends.
    backchannel_logout_uri: Option<String>,
    /// Public keys (a JWKS) for `private_key_jwt` client authentication.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// `EdDSA` (the default) or `RS256`, for clients that know no other.
    #[serde(default)]
    #[schema(pattern = "^(EdDSA|RS256)?$")]
    id_token_signed_response_alg: String,
    /// `public` (one identifier everywhere) or `pairwise` (one per service).
    #[serde(default = "public")]
    #[schema(pattern = "^(public|pairwise)$")]
    subject_type: String,
    /// Who to reach at the service.
    #[schema(min_length = 1, max_length = 200)]
    contact: String,
    /// Whether a confidential client must send PKCE too. Left out, a registration keeps
    /// its choice and a new one takes the `sso_pkce_required` system variable's value.
    require_pkce: Option<bool>,
}

fn public() -> String {
    "public".into()
}

impl ClientBody {
    fn input(self) -> ClientInput {
        ClientInput {
            client_type: self.client_type,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri,
            jwks: self.jwks,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            subject_type: self.subject_type,
            contact: self.contact,
            require_pkce: self.require_pkce,
        }
    }
}

/// Register a catalogue service as a client, or change its registration. A new
/// registration starts in `test`; a confidential client's secret is in this answer only.
#[utoipa::path(put, path = "/services/{code}/client", tag = "access",
    params(("code" = String, Path)), request_body = ClientBody,
    responses((status = 200, body = RegisteredClient), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn register(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<ClientBody>,
) -> Result<Json<RegisteredClient>, ApiError> {
    Ok(Json(kapu.register_client(&actor, &code, &b.input()).await?))
}

/// A new client secret in place of the old one, shown only in this answer.
#[utoipa::path(post, path = "/services/{code}/client/secret", tag = "access",
    params(("code" = String, Path)),
    responses((status = 200, body = RegisteredClient), Unauthorized, Forbidden, NotFound, Conflict, Internal))]
pub async fn rotate_secret(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<Json<RegisteredClient>, ApiError> {
    Ok(Json(kapu.rotate_client_secret(&actor, &code).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct StateBody {
    state: ClientState,
}

/// Move a client along its lifecycle: requested → test → production, or rejected,
/// suspended (and back from suspended).
#[utoipa::path(post, path = "/services/{code}/client/state", tag = "access",
    params(("code" = String, Path)), request_body = StateBody,
    responses((status = 200, body = SsoClient), Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Internal))]
pub async fn set_state(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<StateBody>,
) -> Result<Json<SsoClient>, ApiError> {
    Ok(Json(kapu.set_client_state(&actor, &code, b.state).await?))
}

/// The services the caller let have their data.
#[utoipa::path(get, path = "/me/services", tag = "session",
    responses((status = 200, body = Vec<ConnectedService>), Unauthorized, Internal))]
pub async fn connected(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Vec<ConnectedService>>, ApiError> {
    Ok(Json(kapu.connected_services(&actor).await?))
}

/// Take a service's consent back; every grant it holds for the caller ends.
#[utoipa::path(delete, path = "/me/services/{client_id}", tag = "session",
    params(("client_id" = String, Path)),
    responses((status = 204, description = "Disconnected"), Unauthorized, NotFound, Internal))]
pub async fn disconnect(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(client_id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    kapu.disconnect_service(&actor, &client_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RequestBody {
    /// The service: code, name, launch address and the roles it needs.
    service: super::access::ServiceBody,
    /// How it logs people in.
    client: ClientBody,
}

/// File a request to connect a service (a tenant's user maintainer, in secure mode). The
/// service joins the catalogue as `requested`, taking no logins until central
/// administrators move it to `test`; each move is e-mailed to the requester.
#[utoipa::path(post, path = "/sso/requests", tag = "access", request_body = RequestBody,
    responses((status = 201, body = RegisteredClient), Unauthorized, Forbidden, Conflict, Unprocessable, Internal))]
pub async fn request(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<RequestBody>,
) -> Result<(axum::http::StatusCode, Json<RegisteredClient>), ApiError> {
    let (service, roles) = b.service.parts(None);
    let req = ServiceRequest {
        service,
        roles,
        client: b.client.input(),
    };
    let registered = kapu.request_service(&actor, &req).await?;
    Ok((axum::http::StatusCode::CREATED, Json(registered)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientsQuery {
    /// Only clients in this state.
    state: Option<ClientState>,
}

/// Registered clients and requests: central framework administrators see all, a tenant's
/// user maintainers their tenant's requests.
#[utoipa::path(get, path = "/sso/clients", tag = "access", params(ClientsQuery),
    responses((status = 200, body = Vec<SsoClient>), Unauthorized, Forbidden, Unprocessable, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    super::ApiQuery(q): super::ApiQuery<ClientsQuery>,
) -> Result<Json<Vec<SsoClient>>, ApiError> {
    Ok(Json(kapu.list_clients(&actor, q.state).await?))
}
