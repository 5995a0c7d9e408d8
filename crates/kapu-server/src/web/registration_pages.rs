//! Citizens' own registration, and the e-mail confirmation that opens the account.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kapu_core::Kapu;
use kapu_core::identity::registration::Registration;
use serde::Deserialize;

use super::form_values::{Pairs, value};
use super::frame::{Field, FormPage, Frame, MessagePage, render};
use super::login_pages::frame_for;
use super::session::{anon_csrf, check_anon_csrf, with_cookie};
use crate::context::Ctx;

fn register_form(f: Frame, v: &Pairs) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("register.title"),
        "/register",
        t.t("register.submit"),
    );
    page.intro = t.t("register.intro").into();
    page.fields = vec![
        Field::new(
            "full_name",
            t.t("user.full_name"),
            &value(v, "full_name"),
            "text",
            "name",
        ),
        Field::new(
            "email",
            t.t("user.email"),
            &value(v, "email"),
            "email",
            "email",
        )
        .hint(t.t("register.email_hint")),
        Field::new(
            "login",
            t.t("user.login"),
            &value(v, "login"),
            "text",
            "username",
        )
        .hint(t.t("register.login_hint")),
        Field::new("password", t.t("pw.new"), "", "password", "new-password"),
    ];
    page.links
        .push(("/login".into(), t.t("login.title").into()));
    page
}

pub async fn register_page(State(kapu): State<Kapu>, ctx: Ctx, headers: HeaderMap) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    with_cookie(
        set,
        render(
            StatusCode::OK,
            &register_form(frame_for(&ctx, None, csrf), &Vec::new()),
        ),
    )
}

pub async fn register_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(v): Form<Pairs>,
) -> Response {
    let csrf = value(&v, "csrf");
    if let Err(r) = check_anon_csrf(&kapu, &headers, &csrf) {
        return r.into_response();
    }
    let mut f = frame_for(&ctx, None, csrf);
    let input = Registration {
        full_name: value(&v, "full_name"),
        email: value(&v, "email"),
        login: value(&v, "login"),
        password: value(&v, "password"),
    };
    match kapu.register(&ctx.0, &input).await {
        Ok(r) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    title: t.t("register.sent_title").into(),
                    body: format!("{} {} ({})", t.t("register.sent_body"), r.email, r.login),
                    links: vec![("/login".into(), t.t("login.title").into())],
                    f,
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            render(status, &register_form(f, &v))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TokenParam {
    #[serde(default)]
    token: String,
}

/// The link's page asks for a click: mail scanners that open links confirm nothing.
pub async fn verify_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(p): Query<TokenParam>,
) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let f = frame_for(&ctx, None, csrf);
    let t = f.t;
    let action = format!("/register/verify?token={}", super::table::enc(&p.token));
    let mut page = FormPage::new(
        f,
        t.t("register.verify_title"),
        &action,
        t.t("register.verify_submit"),
    );
    page.intro = t.t("register.verify_intro").into();
    with_cookie(set, render(StatusCode::OK, &page))
}

pub async fn verify_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(p): Query<TokenParam>,
    Form(v): Form<Pairs>,
) -> Response {
    let csrf = value(&v, "csrf");
    if let Err(r) = check_anon_csrf(&kapu, &headers, &csrf) {
        return r.into_response();
    }
    let mut f = frame_for(&ctx, None, csrf);
    let t = f.t;
    match kapu.verify_registration(&ctx.0, &p.token).await {
        Ok(r) => render(
            StatusCode::OK,
            &MessagePage {
                title: t.t("register.verified_title").into(),
                body: format!("{} {}", t.t("register.verified_body"), r.login),
                links: vec![("/login".into(), t.t("login.title").into())],
                f,
            },
        ),
        Err(e) => {
            let status = f.fail(&e);
            render(
                status,
                &MessagePage {
                    title: t.t("register.verify_title").into(),
                    body: String::new(),
                    links: vec![("/register".into(), t.t("register.title").into())],
                    f,
                },
            )
        }
    }
}
