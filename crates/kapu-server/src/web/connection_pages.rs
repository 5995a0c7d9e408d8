//! The profile's connected services: which services have the person's data, and taking
//! that back.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::Kapu;
use kapu_core::sso::connections::ConnectedService;
use serde::Deserialize;

use super::frame::{Frame, local_time, render};
use super::session::{WebActor, check_csrf};
use super::table::{error_page, frame};
use crate::context::Ctx;

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    f: Frame,
    services: Vec<ConnectedService>,
}

pub async fn page(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let f = frame(&ctx, &actor);
    match kapu.connected_services(&actor).await {
        Ok(services) => {
            let services = services
                .into_iter()
                .map(|s| ConnectedService {
                    granted_at: local_time(&s.granted_at),
                    ..s
                })
                .collect();
            render(StatusCode::OK, &ConnectionsPage { f, services })
        }
        Err(e) => error_page(f, &e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn disconnect(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(client_id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.disconnect_service(&actor, &client_id).await {
        Ok(()) => Redirect::to("/profile/services").into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}
