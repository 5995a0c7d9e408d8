//! Password pages: expiry warning, change, forgotten password, activation and reset links.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::identity::links::Purpose;
use kapu_core::identity::password_policy::ExpiryStatus;
use kapu_core::{Error, Kapu};
use serde::Deserialize;

use super::frame::{Field, FormPage, Frame, MessagePage, render};
use super::session::{WebActor, anon_csrf, check_anon_csrf, check_csrf, with_cookie};
use crate::context::Ctx;

use super::home_pages::warning_text;
use super::login_pages::frame_for;

pub async fn warning_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    let f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let t = f.t;
    let state = match kapu.password_state(&actor).await {
        Ok(s) => s.expiry,
        Err(_) => return Redirect::to("/").into_response(),
    };
    let ExpiryStatus::Warning { mandatory, .. } = state else {
        return Redirect::to("/").into_response();
    };
    let mut page = FormPage::new(
        f,
        t.t("pw.warning_title"),
        "/password/warning",
        t.t("pw.change_now"),
    );
    page.intro = warning_text(t, &state);
    page.secondary = t.t("pw.continue").into();
    if !mandatory {
        page.checks
            .push(("silence".into(), t.t("pw.silence").into()));
    }
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct WarningForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    silence: Option<String>,
}

pub async fn warning_submit(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<WarningForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if form.action == "submit" {
        return Redirect::to("/password/change").into_response();
    }
    if form.silence.is_some()
        && let Err(e) = kapu.silence_expiry_warning(&actor).await
    {
        tracing::error!(error = %e, "silencing the warning failed");
    }
    Redirect::to("/").into_response()
}

fn change_form(f: Frame) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("pw.change_title"),
        "/password/change",
        t.t("pw.change_submit"),
    );
    page.fields = vec![
        Field::current_password("current_password", t.t("pw.current")),
        Field::new(
            "new_password",
            t.t("pw.new"),
            "",
            "password",
            "new-password",
        )
        .hint(t.t("pw.rules")),
        Field::new(
            "confirm_password",
            t.t("pw.confirm"),
            "",
            "password",
            "new-password",
        ),
    ];
    page
}

pub async fn change_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let mut page = change_form(frame_for(&ctx, Some(&actor), actor.csrf.clone()));
    if actor.restricted {
        page.intro = page.f.t.t("pw.expired_intro").into();
    }
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = if form.new_password != form.confirm_password {
        Err(Error::field("confirm_password", "password.mismatch"))
    } else {
        kapu.change_own_password(&actor, &form.current_password, &form.new_password)
            .await
    };
    let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    match result {
        Ok(()) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("pw.changed_title").into(),
                    body: t.t("pw.changed_body").into(),
                    links: vec![("/".into(), t.t("home.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            render(status, &change_form(f))
        }
    }
}

fn forgot_form(f: Frame, login: &str) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("forgot.title"),
        "/password/forgot",
        t.t("forgot.submit"),
    );
    page.intro = t.t("forgot.intro").into();
    page.fields = vec![
        Field::new("login", t.t("login.login"), login, "text", "username")
            .hint(t.t("login.login_hint")),
    ];
    page
}

pub async fn forgot_page(State(kapu): State<Kapu>, ctx: Ctx, headers: HeaderMap) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    with_cookie(
        set,
        render(
            StatusCode::OK,
            &forgot_form(frame_for(&ctx, None, csrf), ""),
        ),
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
}

pub async fn forgot_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if let Err(r) = check_anon_csrf(&kapu, &headers, &form.csrf) {
        return r.into_response();
    }
    let mut f = frame_for(&ctx, None, form.csrf.clone());
    match kapu.request_password_reset(&ctx.0, &form.login).await {
        Ok(()) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("forgot.sent_title").into(),
                    body: t.t("forgot.sent_body").into(),
                    links: vec![("/login".into(), t.t("login.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            render(status, &forgot_form(f, &form.login))
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn link_form(f: Frame, purpose: Purpose, token: &str, who: &str) -> FormPage {
    let t = f.t;
    let (title, action) = match purpose {
        Purpose::Activation => (t.t("activate.title"), "/activate"),
        Purpose::PasswordReset | Purpose::EmailVerification => {
            (t.t("reset.title"), "/password/reset")
        }
    };
    let mut page = FormPage::new(f, title, action, t.t("pw.set_submit"));
    page.intro = format!("{}: {who}", t.t("user.login"));
    page.fields = vec![
        Field::new(
            "new_password",
            t.t("pw.new"),
            "",
            "password",
            "new-password",
        )
        .hint(t.t("pw.rules")),
        Field::new(
            "confirm_password",
            t.t("pw.confirm"),
            "",
            "password",
            "new-password",
        ),
    ];
    // The token rides along as a field the person does not see.
    page.checks.clear();
    page.action = format!("{action}?token={token}");
    page
}

async fn link_page(
    kapu: Kapu,
    ctx: Ctx,
    headers: HeaderMap,
    token: String,
    purpose: Purpose,
) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let mut f = frame_for(&ctx, None, csrf);
    match kapu.link_target(&token, purpose).await {
        Ok(target) => with_cookie(
            set,
            render(
                StatusCode::OK,
                &link_form(f, purpose, &token, &target.full_login),
            ),
        ),
        Err(e) => {
            let status = f.fail(&e);
            let t = f.t;
            let body = f
                .errors
                .items
                .first()
                .map(|e| e.1.clone())
                .unwrap_or_default();
            f.errors.items.clear();
            with_cookie(
                set,
                render(
                    status,
                    &MessagePage {
                        f,
                        title: t.t("link.invalid_title").into(),
                        body,
                        links: vec![("/password/forgot".into(), t.t("login.forgot").into())],
                    },
                ),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn link_submit(
    kapu: Kapu,
    ctx: Ctx,
    headers: HeaderMap,
    token: String,
    purpose: Purpose,
    form: LinkForm,
) -> Response {
    if let Err(r) = check_anon_csrf(&kapu, &headers, &form.csrf) {
        return r.into_response();
    }
    let result = if form.new_password != form.confirm_password {
        Err(Error::field("confirm_password", "password.mismatch"))
    } else {
        kapu.complete_link(&ctx.0, &token, purpose, &form.new_password)
            .await
    };
    let mut f = frame_for(&ctx, None, form.csrf.clone());
    match result {
        Ok(target) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("pw.set_title").into(),
                    body: format!("{} {}", t.t("pw.set_body"), target.full_login),
                    links: vec![("/login".into(), t.t("login.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            let who = kapu
                .link_target(&token, purpose)
                .await
                .map(|t| t.full_login)
                .unwrap_or_default();
            render(status, &link_form(f, purpose, &token, &who))
        }
    }
}

pub async fn activate_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    link_page(kapu, ctx, headers, q.token, Purpose::Activation).await
}

pub async fn activate_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    Form(form): Form<LinkForm>,
) -> Response {
    link_submit(kapu, ctx, headers, q.token, Purpose::Activation, form).await
}

pub async fn reset_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    link_page(kapu, ctx, headers, q.token, Purpose::PasswordReset).await
}

pub async fn reset_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    Form(form): Form<LinkForm>,
) -> Response {
    link_submit(kapu, ctx, headers, q.token, Purpose::PasswordReset, form).await
}
