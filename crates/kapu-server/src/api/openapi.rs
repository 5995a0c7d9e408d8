//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' annotations, and the
//! interactive reference page that reads it.

use std::sync::OnceLock;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::contract::{ErrorBody, ErrorCode, ErrorDetail, FieldProblem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kapu API",
        description = "Multi-tenant sign-on and administration. Log in with `POST /session` and send \
                       the token as `Authorization: Bearer …`. Times are RFC 3339 UTC. Errors are \
                       `{\"error\": {\"code\", \"message\", \"request_id\"}}`."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorBody, ErrorDetail, FieldProblem, ErrorCode)),
    security(("bearer" = [])),
    modifiers(&Bearer),
    tags(
        (name = "session", description = "Login, logout and the caller"),
        (name = "factors", description = "Second factors: authenticator apps, security keys and passkeys, recovery codes, temporary permits"),
        (name = "password", description = "One-time links: activation and forgotten passwords"),
        (name = "tenants", description = "Tenants"),
        (name = "users", description = "Users of a tenant"),
        (name = "access", description = "Services, contracts, groups, rights and substitutions"),
        (name = "settings", description = "System variables"),
        (name = "audit", description = "The business log"),
        (name = "statistics", description = "Statistics of the framework (manual chapter 12)"),
        (name = "mailbox", description = "Office and personal mailboxes, the office directory, messages and receipts"),
        (name = "vault", description = "The shared two-factor vault: entries, codes, delegation, import and export"),
        (name = "machine", description = "The machine interface: technical users and their login"),
    )
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub(super) fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// Handler names repeat across modules (`list`, `read`); the tag makes each id unique. Every
/// operation can meet an unreachable database, so each lists the 503 answer.
fn finish_operations(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::IntoResponses as _;
    let unavailable = super::contract::Unavailable::responses();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if let (Some(id), Some(tag)) =
                (&op.operation_id, op.tags.as_ref().and_then(|t| t.first()))
            {
                op.operation_id = Some(format!("{tag}_{id}"));
            }
            op.responses.responses.extend(unavailable.clone());
        }
    }
}

fn built() -> utoipa::openapi::OpenApi {
    let mut doc = super::full_document();
    finish_operations(&mut doc);
    doc
}

/// The document, built once (for tools and the tests' contract checks).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(built)
}

/// The document as served: serialized once, so the server keeps a few hundred KB of text
/// rather than the many MB of the structure it was made from.
fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_string(&built()).unwrap_or_default())
}

/// `/api/v1/docs` (Swagger UI, served from the binary) and `/api/v1/openapi.json`.
pub fn docs_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let ui: Router<S> = SwaggerUi::new("/api/v1/docs")
        .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json"))
        .into();
    ui.route(
        "/api/v1/openapi.json",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                document_json(),
            )
        }),
    )
}
