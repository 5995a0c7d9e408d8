//! The document types an office accepts.

use axum::Json;
use axum::extract::{Path, State};
use kapu_core::Kapu;
use kapu_core::mailbox::document_types::DocumentType;
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::{Forbidden, Internal, Items, NotFound, Unauthorized, Unprocessable};
use super::{ApiActor, ApiJson};
use crate::context::Ctx;
use crate::error::ApiError;

/// What a sender may send an office: the general letter (`ALTALANOS_LEVEL`, first), then the
/// office's own list. A send of another type is refused (`message.doc_type_not_accepted`);
/// an office without a list takes any type.
#[utoipa::path(get, path = "/offices/{short_name}/document-types", tag = "mailbox",
    params(("short_name" = String, Path)),
    responses((status = 200, body = Items<DocumentType>), Unauthorized, NotFound, Internal))]
pub async fn list(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(_actor): ApiActor,
    Path(short_name): Path<String>,
) -> Result<Json<Items<DocumentType>>, ApiError> {
    Ok(Json(Items::of(
        kapu.document_types_of(&short_name, ctx.1).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentTypesBody {
    /// The whole list, in the order senders see it (at most 500; the general letter is not
    /// listed).
    #[schema(max_items = 500)]
    types: Vec<DocumentType>,
}

/// Replace an office's list (its managers in secure mode, or central administrators).
#[utoipa::path(put, path = "/offices/{short_name}/document-types", tag = "mailbox",
    params(("short_name" = String, Path)), request_body = DocumentTypesBody,
    responses((status = 200, body = Items<DocumentType>), Unauthorized, Forbidden, NotFound, Unprocessable, Internal))]
pub async fn replace(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(short_name): Path<String>,
    ApiJson(b): ApiJson<DocumentTypesBody>,
) -> Result<Json<Items<DocumentType>>, ApiError> {
    Ok(Json(Items::of(
        kapu.set_document_types(&actor, &short_name, &b.types)
            .await?,
    )))
}
