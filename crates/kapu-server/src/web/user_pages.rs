//! User administration pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::actor::policy;
use kapu_core::identity::ListQuery;
use kapu_core::identity::users::{NewUser, StatusFilter, UserChanges};
use kapu_core::{Actor, Kapu};
use serde::Deserialize;

use super::frame::{ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use crate::context::Ctx;
use crate::exports;

use super::table::{
    Column, ListParams, Row, TablePage, csv_or_error, enc, error_page, form_refused, frame,
};

pub async fn users(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    let tenant = p
        .tenant
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| actor.tenant_code.clone());
    let status = StatusFilter::parse(p.status.as_deref().unwrap_or("")).unwrap_or_default();
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_users(&actor, &tenant, &q, status).await }
        })
        .await;
        return csv_or_error(f, all, "users", |all| exports::users(ctx.1, all, detailed));
    }
    let page = match kapu.list_users(&actor, &tenant, &p.paging(), status).await {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let tenant_choices = if actor.central {
        let all = ListQuery {
            per_page: Some(1000),
            ..Default::default()
        };
        kapu.list_tenants(&actor, &all)
            .await
            .map(|p| p.items.into_iter().map(|t| t.code).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let path = "/admin/users";
    let columns = p.columns(
        path,
        &tenant,
        &[
            ("login", t.t("user.login")),
            ("full_name", t.t("user.full_name")),
            ("email", t.t("user.email")),
            ("last_login_at", t.t("user.last_login")),
        ],
    );
    let (prev, next, page_label) = p.pager(path, &tenant, &page, t);
    let export_tenant = tenant.clone();
    let rows = page
        .items
        .iter()
        .map(|u| Row {
            href: format!("/admin/users/{}/{}", enc(&u.tenant), enc(&u.login)),
            cells: vec![
                u.login.clone(),
                u.full_name.clone(),
                u.email.clone(),
                u.last_login_at.clone().unwrap_or_default(),
            ],
        })
        .zip(page.items.iter())
        .map(|(mut row, u)| {
            row.cells
                .push(t.t(&format!("status.{}", u.status)).to_string());
            row
        })
        .collect();
    let mut columns = columns;
    columns.push(Column {
        label: t.t("user.status"),
        href: String::new(),
        sorted: false,
        desc: false,
    });
    let page = TablePage {
        title: t.t("admin.users").into(),
        caption: format!("{}: {tenant}", t.t("tenant.tenant")),
        path,
        new_link: format!("/admin/users/new?tenant={}", enc(&tenant)),
        new_label: t.t("user.new").into(),
        tenant,
        tenant_choices,
        q: p.q.clone().unwrap_or_default(),
        with_status: true,
        status: p.status.clone().unwrap_or_else(|| "all".into()),
        columns,
        rows,
        prev,
        next,
        page_label,
        export: p.href(path, &export_tenant, None, false, 1),
        f,
    };
    render(StatusCode::OK, &page)
}

fn user_form(f: Frame, tenant: &str, v: &UserFormData) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("user.new"),
        &format!("/admin/users/new?tenant={}", enc(tenant)),
        t.t("user.create"),
    );
    page.intro = format!("{}: {tenant}", t.t("tenant.tenant"));
    page.fields = vec![
        Field::new("login", t.t("user.login"), &v.login, "text", "off")
            .hint(t.t("user.login_hint")),
        Field::new(
            "full_name",
            t.t("user.full_name"),
            &v.full_name,
            "text",
            "off",
        ),
        Field::new("email", t.t("user.email"), &v.email, "email", "off")
            .hint(t.t("user.email_hint")),
    ];
    page
}

#[derive(Deserialize, Default)]
pub struct UserFormData {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct TenantParam {
    #[serde(default)]
    tenant: String,
}

pub async fn new_user_page(
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
) -> Response {
    if let Some(refused) = form_refused(&ctx, &actor, |a| policy::write_users(a, &a.tenant_id)) {
        return refused;
    }
    let tenant = if q.tenant.is_empty() {
        actor.tenant_code.clone()
    } else {
        q.tenant
    };
    render(
        StatusCode::OK,
        &user_form(frame(&ctx, &actor), &tenant, &UserFormData::default()),
    )
}

pub async fn new_user_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
    Form(form): Form<UserFormData>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let input = NewUser {
        login: form.login.clone(),
        full_name: form.full_name.clone(),
        email: form.email.clone(),
    };
    match kapu.create_user(&actor, &q.tenant, &input).await {
        Ok(u) => Redirect::to(&format!(
            "/admin/users/{}/{}?notice=notice.user_created",
            enc(&u.tenant),
            enc(&u.login)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &user_form(f, &q.tenant, &form))
        }
    }
}

#[derive(Template)]
#[template(path = "user_edit.html")]
struct UserPage {
    f: Frame,
    tenant: String,
    login: String,
    full_login: String,
    full_name: String,
    email: String,
    status: String,
    last_login: String,
    locked: bool,
}

#[derive(Deserialize, Default)]
pub struct NoticeParam {
    pub(super) notice: Option<String>,
}

async fn show_user(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    tenant: &str,
    login: &str,
    form: Option<&UserFormData>,
    status: StatusCode,
) -> Response {
    let u = match kapu.get_user(actor, tenant, login).await {
        Ok(u) => u,
        Err(e) => return error_page(f, &e),
    };
    let t = f.t;
    let page = UserPage {
        tenant: u.tenant.clone(),
        login: u.login.clone(),
        full_login: u.full_login.clone(),
        full_name: form
            .map(|x| x.full_name.clone())
            .unwrap_or(u.full_name.clone()),
        email: form.map(|x| x.email.clone()).unwrap_or(u.email.clone()),
        status: t.t(&format!("status.{}", u.status)).into(),
        last_login: u
            .last_login_at
            .clone()
            .map(|s| super::frame::local_time(&s))
            .unwrap_or_else(|| "–".into()),
        locked: u.locked,
        f,
    };
    render(status, &page)
}

pub async fn user_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Query(n): Query<NoticeParam>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(n.notice.as_deref());
    show_user(&kapu, f, &actor, &tenant, &login, None, StatusCode::OK).await
}

pub async fn user_save(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(form): Form<UserFormData>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let changes = UserChanges {
        full_name: Some(form.full_name.clone()),
        email: Some(form.email.clone()),
    };
    match kapu.update_user(&actor, &tenant, &login, &changes).await {
        Ok(_) => Redirect::to(&format!(
            "/admin/users/{}/{}?notice=notice.saved",
            enc(&tenant),
            enc(&login)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            show_user(&kapu, f, &actor, &tenant, &login, Some(&form), status).await
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn lock_or_unlock(
    kapu: Kapu,
    ctx: Ctx,
    actor: Actor,
    tenant: String,
    login: String,
    csrf: String,
    lock: bool,
) -> Response {
    if let Err(r) = check_csrf(&actor, &csrf) {
        return r.into_response();
    }
    match kapu.set_user_locked(&actor, &tenant, &login, lock).await {
        Ok(_) => Redirect::to(&format!(
            "/admin/users/{}/{}?notice=notice.{}",
            enc(&tenant),
            enc(&login),
            if lock { "locked" } else { "unlocked" }
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            show_user(&kapu, f, &actor, &tenant, &login, None, status).await
        }
    }
}

pub async fn user_lock(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    lock_or_unlock(kapu, ctx, actor, tenant, login, form.csrf, true).await
}

pub async fn user_unlock(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    lock_or_unlock(kapu, ctx, actor, tenant, login, form.csrf, false).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
}

pub async fn user_password(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu
        .admin_set_password(&actor, &tenant, &login, &form.new_password)
        .await
    {
        Ok(()) => Redirect::to(&format!(
            "/admin/users/{}/{}?notice=notice.password_set",
            enc(&tenant),
            enc(&login)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            show_user(&kapu, f, &actor, &tenant, &login, None, status).await
        }
    }
}

pub async fn user_delete_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    let u = match kapu.get_user(&actor, &tenant, &login).await {
        Ok(u) => u,
        Err(e) => return error_page(f, &e),
    };
    let t = f.t;
    let base = format!("/admin/users/{}/{}", enc(&tenant), enc(&login));
    let page = ConfirmPage {
        title: format!("{}: {}", t.t("user.delete"), u.full_login),
        body: t.t("user.delete_confirm").into(),
        action: format!("{base}/delete"),
        confirm: t.t("user.delete").into(),
        back: base,
        f,
    };
    render(StatusCode::OK, &page)
}

pub async fn user_delete(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.delete_user(&actor, &tenant, &login).await {
        Ok(()) => Redirect::to(&format!(
            "/admin/users?tenant={}&notice=notice.deleted",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}
