//! Single sign-on administration pages: the clients and requests, a tenant's request form,
//! and for central administrators each client's lifecycle and secret.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::catalog::{RoleInput, ServiceInput};
use kapu_core::sso::clients::{ClientInput, ClientState, SsoClient};
use kapu_core::sso::onboarding::ServiceRequest;
use kapu_core::{Actor, Error, Kapu, Role};
use serde::Deserialize;

use super::frame::{Choices, Field, FormPage, Frame, local_time, render};
use super::session::{WebActor, check_csrf};
use super::table::{Column, Row, TablePage, enc, error_page, frame};
use crate::context::Ctx;

const MOVES: [ClientState; 4] = [
    ClientState::Test,
    ClientState::Production,
    ClientState::Suspended,
    ClientState::Rejected,
];

fn state_label(f: &Frame, s: ClientState) -> String {
    f.t.t(&format!("sso.state_{}", s.as_str())).to_string()
}

/// `/admin/sso`: every client for central administrators, a tenant's own requests for its
/// user maintainers.
pub async fn list(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let f = frame(&ctx, &actor);
    let clients = match kapu.list_clients(&actor, None).await {
        Ok(c) => c,
        Err(e) => return error_page(f, &e),
    };
    let central = actor.central && actor.has(Role::FrameworkAdmin);
    let rows = clients
        .into_iter()
        .map(|c| Row {
            href: if central {
                format!("/admin/sso/{}", enc(&c.client_id))
            } else {
                String::new()
            },
            cells: vec![
                c.name.clone(),
                c.client_id.clone(),
                state_label(&f, c.state),
                c.client_type.clone(),
                local_time(&c.updated_at),
            ],
        })
        .collect::<Vec<_>>();
    let t = f.t;
    let labels = [
        t.t("sso.service"),
        t.t("service.code"),
        t.t("user.status"),
        t.t("sso.client_type"),
        t.t("sso.updated"),
    ];
    let page = TablePage {
        title: t.t("sso.clients_title").into(),
        caption: t.t("sso.clients_title").into(),
        path: "/admin/sso",
        tenant: String::new(),
        tenant_choices: Vec::new(),
        q: String::new(),
        with_status: false,
        status: String::new(),
        new_link: "/admin/sso/request".into(),
        new_label: t.t("sso.request_title").into(),
        columns: labels
            .iter()
            .map(|l| Column {
                label: l,
                href: String::new(),
                sorted: false,
                desc: false,
            })
            .collect(),
        page_label: format!("{} {}", rows.len(), t.t("ui.items")),
        rows,
        prev: String::new(),
        next: String::new(),
        export: String::new(),
        f,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize, Default)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    launch_url: String,
    /// `code=Name` pairs separated by commas.
    #[serde(default)]
    roles: String,
    #[serde(default)]
    client_type: String,
    /// Addresses separated by spaces.
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    contact: String,
}

fn request_form(f: Frame, v: &RequestForm) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("sso.request_title"),
        "/admin/sso/request",
        t.t("sso.request_submit"),
    );
    page.intro = t.t("sso.request_intro").into();
    page.fields = vec![
        Field::new("code", t.t("service.code"), &v.code, "text", "off"),
        Field::new("name", t.t("service.name"), &v.name, "text", "off"),
        Field::new(
            "launch_url",
            t.t("service.launch_url"),
            &v.launch_url,
            "url",
            "off",
        ),
        Field::new("roles", t.t("sso.roles_needed"), &v.roles, "text", "off")
            .hint(t.t("sso.roles_hint")),
        Field::new(
            "redirect_uris",
            t.t("sso.redirect_uris"),
            &v.redirect_uris,
            "text",
            "off",
        )
        .hint(t.t("sso.redirect_uris_hint")),
        Field::new("contact", t.t("sso.contact"), &v.contact, "text", "email"),
    ];
    let confidential = v.client_type != "public";
    page.groups = vec![Choices::new(
        "client_type",
        t.t("sso.client_type"),
        false,
        vec![
            (
                "confidential".into(),
                t.t("sso.confidential").into(),
                confidential,
            ),
            ("public".into(), t.t("sso.public").into(), !confidential),
        ],
    )];
    page.links = vec![("/admin/sso".into(), t.t("sso.clients_title").into())];
    page
}

pub async fn request_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    render(
        StatusCode::OK,
        &request_form(frame(&ctx, &actor), &RequestForm::default()),
    )
}

fn roles_of(s: &str) -> Vec<RoleInput> {
    s.split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let (code, name) = r.split_once('=').unwrap_or((r, r));
            RoleInput {
                code: code.trim().to_string(),
                name: name.trim().to_string(),
                description: name.trim().to_string(),
            }
        })
        .collect()
}

pub async fn request_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<RequestForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let req = ServiceRequest {
        service: ServiceInput {
            code: form.code.clone(),
            name: Some(form.name.clone()),
            launch_url: Some(form.launch_url.clone()),
        },
        roles: roles_of(&form.roles),
        client: ClientInput {
            client_type: if form.client_type == "public" {
                "public"
            } else {
                "confidential"
            }
            .into(),
            redirect_uris: form
                .redirect_uris
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            jwks: None,
            id_token_signed_response_alg: "EdDSA".into(),
            subject_type: "public".into(),
            contact: form.contact.clone(),
            require_pkce: None,
        },
    };
    match kapu.request_service(&actor, &req).await {
        Ok(r) => {
            let f = frame(&ctx, &actor);
            client_page(f, &actor, r.client, r.client_secret)
        }
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            let mut resp = render(status, &request_form(f, &form));
            *resp.status_mut() = status;
            resp
        }
    }
}

#[derive(Template)]
#[template(path = "sso_client.html")]
struct ClientPage {
    f: Frame,
    client: SsoClient,
    state: String,
    secret: Option<String>,
    /// The moves open from here: `(state, label)`.
    moves: Vec<(String, String)>,
    central: bool,
}

fn client_page(f: Frame, actor: &Actor, client: SsoClient, secret: Option<String>) -> Response {
    let moves = MOVES
        .iter()
        .filter(|s| client.state.may_become(**s))
        .map(|s| (s.as_str().to_string(), state_label(&f, *s)))
        .collect();
    let page = ClientPage {
        state: state_label(&f, client.state),
        client,
        secret,
        moves,
        central: actor.central && actor.has(Role::FrameworkAdmin),
        f,
    };
    render(StatusCode::OK, &page)
}

pub async fn client(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
) -> Response {
    let f = frame(&ctx, &actor);
    match kapu.get_client(&actor, &code).await {
        Ok(c) => client_page(f, &actor, c, None),
        Err(e) => error_page(f, &e),
    }
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
}

pub async fn move_state(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let Some(next) = ClientState::parse(&form.state) else {
        return error_page(
            frame(&ctx, &actor),
            &Error::field("state", "sso.state_unknown"),
        );
    };
    match kapu.set_client_state(&actor, &code, next).await {
        Ok(_) => Redirect::to(&format!("/admin/sso/{}", enc(&code))).into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn new_secret(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let f = frame(&ctx, &actor);
    match kapu.rotate_client_secret(&actor, &code).await {
        Ok(r) => client_page(f, &actor, r.client, r.client_secret),
        Err(e) => error_page(f, &e),
    }
}
