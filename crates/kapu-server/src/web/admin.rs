//! User and tenant administration pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::identity::tenants::NewTenant;
use kapu_core::identity::users::{NewUser, StatusFilter, UserChanges};
use kapu_core::identity::{ListQuery, Page};
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{ConfirmPage, Field, FormPage, Frame, MessagePage, render};
use super::session::{WebActor, check_csrf};
use crate::context::Ctx;
use crate::exports;

pub(super) fn frame(ctx: &Ctx, actor: &Actor) -> Frame {
    Frame::new(
        ctx.1,
        Some(actor),
        actor.csrf.clone(),
        ctx.0.request_id.clone(),
    )
}

pub(super) fn error_page(mut f: Frame, e: &Error) -> Response {
    let status = f.fail(e);
    let t = f.t;
    render(
        status,
        &MessagePage {
            f,
            title: t.t("ui.problem").into(),
            body: String::new(),
            links: vec![("/".into(), t.t("home.title").into())],
        },
    )
}

pub(super) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub struct Column {
    pub(super) label: &'static str,
    pub(super) href: String,
    pub(super) sorted: bool,
    pub(super) desc: bool,
}

pub struct Row {
    pub(super) href: String,
    pub(super) cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "table.html")]
pub(super) struct TablePage {
    pub(super) f: Frame,
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) path: &'static str,
    pub(super) tenant: String,
    pub(super) tenant_choices: Vec<String>,
    pub(super) q: String,
    pub(super) with_status: bool,
    pub(super) status: String,
    pub(super) new_link: String,
    pub(super) new_label: String,
    pub(super) columns: Vec<Column>,
    pub(super) rows: Vec<Row>,
    pub(super) prev: String,
    pub(super) next: String,
    pub(super) page_label: String,
    /// The list's address with its filters, for the CSV links; empty for none.
    pub(super) export: String,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    pub(super) tenant: Option<String>,
    pub(super) q: Option<String>,
    pub(super) sort: Option<String>,
    pub(super) order: Option<String>,
    pub(super) page: Option<i64>,
    pub(super) status: Option<String>,
    pub(super) notice: Option<String>,
    pub(super) format: Option<String>,
    pub(super) detailed: Option<String>,
}

impl ListParams {
    /// `Some(detailed)` when a CSV download is asked for.
    pub(super) fn csv(&self) -> Option<bool> {
        crate::exports::wants_csv(self.format.as_deref(), self.detailed.as_deref())
    }

    pub(super) fn query(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            sort: self.sort.clone(),
            desc: self.order.as_deref() == Some("desc"),
            page: self.page,
            per_page: Some(25),
        }
    }

    pub(super) fn href(
        &self,
        path: &str,
        tenant: &str,
        sort: Option<&str>,
        desc: bool,
        page: i64,
    ) -> String {
        let mut s = format!("{path}?page={page}");
        if !tenant.is_empty() {
            s += &format!("&tenant={}", enc(tenant));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            s += &format!("&q={}", enc(q));
        }
        if let Some(st) = self.status.as_deref().filter(|s| !s.is_empty()) {
            s += &format!("&status={}", enc(st));
        }
        if let Some(sort) = sort {
            s += &format!(
                "&sort={}&order={}",
                enc(sort),
                if desc { "desc" } else { "asc" }
            );
        }
        s
    }

    pub(super) fn columns(
        &self,
        path: &str,
        tenant: &str,
        cols: &[(&'static str, &'static str)],
    ) -> Vec<Column> {
        cols.iter()
            .map(|(key, label)| {
                let sorted =
                    self.sort.as_deref() == Some(key) || (self.sort.is_none() && *key == cols[0].0);
                let desc = sorted && self.order.as_deref() == Some("desc");
                Column {
                    label,
                    href: self.href(path, tenant, Some(key), sorted && !desc, 1),
                    sorted,
                    desc,
                }
            })
            .collect()
    }

    pub(super) fn pager<T>(
        &self,
        path: &str,
        tenant: &str,
        page: &Page<T>,
        t: super::Tr,
    ) -> (String, String, String) {
        let sort = self.sort.as_deref();
        let desc = self.order.as_deref() == Some("desc");
        let prev = if page.page > 1 {
            self.href(path, tenant, sort, desc, page.page - 1)
        } else {
            String::new()
        };
        let next = if page.page < page.pages() {
            self.href(path, tenant, sort, desc, page.page + 1)
        } else {
            String::new()
        };
        (
            prev,
            next,
            format!(
                "{} {} / {} ({} {})",
                t.t("ui.page"),
                page.page,
                page.pages(),
                page.total,
                t.t("ui.items")
            ),
        )
    }
}

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
        let all = exports::all_pages(&p.query(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_users(&actor, &tenant, &q, status).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response("users", exports::users(ctx.1, &all, detailed)),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu.list_users(&actor, &tenant, &p.query(), status).await {
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
    notice: Option<String>,
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
            .map(|s| s.replace('T', " ").replace('Z', " UTC"))
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

pub async fn tenants(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.query(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_tenants(&actor, &q).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response("tenants", exports::tenants(ctx.1, &all, detailed)),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu.list_tenants(&actor, &p.query()).await {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let path = "/admin/tenants";
    let columns = p.columns(
        path,
        "",
        &[
            ("code", t.t("tenant.code")),
            ("name", t.t("tenant.name")),
            ("created_at", t.t("tenant.created")),
        ],
    );
    let (prev, next, page_label) = p.pager(path, "", &page, t);
    let rows = page
        .items
        .iter()
        .map(|x| Row {
            href: format!("/admin/tenants/{}", enc(&x.code)),
            cells: vec![
                x.code.clone(),
                x.name.clone(),
                x.created_at.get(..10).unwrap_or("").to_string(),
            ],
        })
        .collect();
    let page = TablePage {
        title: t.t("admin.tenants").into(),
        caption: t.t("admin.tenants").into(),
        path,
        tenant: String::new(),
        tenant_choices: Vec::new(),
        q: p.q.clone().unwrap_or_default(),
        with_status: false,
        status: String::new(),
        new_link: if actor.central {
            "/admin/tenants/new".into()
        } else {
            String::new()
        },
        new_label: t.t("tenant.new").into(),
        columns,
        rows,
        prev,
        next,
        page_label,
        export: p.href(path, "", None, false, 1),
        f,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize, Default)]
pub struct TenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    admin_login: String,
    #[serde(default)]
    admin_full_name: String,
    #[serde(default)]
    admin_email: String,
}

fn tenant_form(f: Frame, v: &TenantForm) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("tenant.new"),
        "/admin/tenants/new",
        t.t("tenant.create"),
    );
    page.intro = t.t("tenant.new_intro").into();
    page.fields = vec![
        Field::new("code", t.t("tenant.code"), &v.code, "text", "off")
            .hint(t.t("tenant.code_hint")),
        Field::new("name", t.t("tenant.name"), &v.name, "text", "off"),
        Field::new(
            "admin_login",
            t.t("tenant.admin_login"),
            &v.admin_login,
            "text",
            "off",
        )
        .hint(t.t("user.login_hint")),
        Field::new(
            "admin_full_name",
            t.t("tenant.admin_full_name"),
            &v.admin_full_name,
            "text",
            "off",
        ),
        Field::new(
            "admin_email",
            t.t("tenant.admin_email"),
            &v.admin_email,
            "email",
            "off",
        ),
    ];
    page
}

pub async fn new_tenant_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    render(
        StatusCode::OK,
        &tenant_form(frame(&ctx, &actor), &TenantForm::default()),
    )
}

pub async fn new_tenant_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<TenantForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let input = NewTenant {
        code: form.code.clone(),
        name: form.name.clone(),
        admin: NewUser {
            login: form.admin_login.clone(),
            full_name: form.admin_full_name.clone(),
            email: form.admin_email.clone(),
        },
    };
    match kapu.create_tenant(&actor, &input).await {
        Ok(_) => Redirect::to("/admin/tenants?notice=notice.tenant_created").into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &tenant_form(f, &form))
        }
    }
}

fn rename_form(f: Frame, code: &str, name: &str) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        &format!("{}: {code}", t.t("tenant.tenant")),
        &format!("/admin/tenants/{}", enc(code)),
        t.t("tenant.rename"),
    );
    page.fields = vec![Field::new("name", t.t("tenant.name"), name, "text", "off")];
    page.links = vec![
        (
            format!("/admin/users?tenant={}", enc(code)),
            t.t("admin.users").into(),
        ),
        (
            format!("/admin/tenants/{}/services", enc(code)),
            t.t("contract.title").into(),
        ),
    ];
    page
}

pub async fn tenant_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
    Query(n): Query<NoticeParam>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(n.notice.as_deref());
    match kapu.get_tenant(&actor, &code).await {
        Ok(tn) => render(StatusCode::OK, &rename_form(f, &tn.code, &tn.name)),
        Err(e) => error_page(f, &e),
    }
}

pub async fn tenant_rename(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.rename_tenant(&actor, &code, &form.name).await {
        Ok(tn) => Redirect::to(&format!(
            "/admin/tenants/{}?notice=notice.saved",
            enc(&tn.code)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &rename_form(f, &code, &form.name))
        }
    }
}
