//! Server-rendered pages.

use axum::Router;
use kapu_core::Kapu;

pub fn router() -> Router<Kapu> {
    Router::new()
}
