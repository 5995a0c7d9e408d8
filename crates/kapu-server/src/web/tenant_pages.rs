//! Tenant administration pages.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::Kapu;
use kapu_core::actor::policy;
use kapu_core::identity::tenants::NewTenant;
use kapu_core::identity::users::NewUser;
use serde::Deserialize;

use super::frame::{Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use crate::context::Ctx;
use crate::exports;

use super::table::{
    ListParams, Row, TablePage, csv_or_error, enc, error_page, form_refused, frame,
};

use super::user_pages::NoticeParam;

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
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_tenants(&actor, &q).await }
        })
        .await;
        return csv_or_error(f, all, "tenants", |all| {
            exports::tenants(ctx.1, all, detailed)
        });
    }
    let page = match kapu.list_tenants(&actor, &p.paging()).await {
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
    if let Some(refused) = form_refused(&ctx, &actor, policy::manage_tenants) {
        return refused;
    }
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
