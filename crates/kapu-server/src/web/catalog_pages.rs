//! The service catalogue, the roles list and tenant contracts.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::catalog::{RoleInput, ServiceInput};
use kapu_core::actor::policy;
use kapu_core::identity::ListQuery;
use kapu_core::{Actor, Kapu};

use super::frame::builtin;
use super::frame::{Choices, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{
    Column, ListParams, Row, TablePage, csv_or_error, enc, error_page, form_refused, frame,
};
use crate::context::Ctx;
use crate::exports;

use super::form_values::{Pairs, value, values};

pub async fn roles(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_roles(&actor, &q).await }
        })
        .await;
        return csv_or_error(f, all, "roles", |all| exports::roles(ctx.1, all, detailed));
    }
    let page = match kapu.list_roles(&actor, &p.paging()).await {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let path = "/admin/roles";
    let mut columns = p.columns(
        path,
        "",
        &[
            ("service", t.t("service.service")),
            ("code", t.t("role.code")),
            ("name", t.t("role.name")),
        ],
    );
    columns.push(Column {
        label: t.t("role.description"),
        href: String::new(),
        sorted: false,
        desc: false,
    });
    let (prev, next, page_label) = p.pager(path, "", &page, t);
    let rows = page
        .items
        .iter()
        .map(|r| Row {
            href: String::new(),
            cells: vec![
                builtin(&r.service, &r.service_name),
                r.code.clone(),
                builtin(&r.id, &r.name),
                kapu_core::platform::i18n::builtin_description(t.0, &r.id, &r.description)
                    .to_string(),
            ],
        })
        .collect();
    let page = TablePage {
        title: t.t("admin.roles").into(),
        caption: t.t("admin.roles").into(),
        path,
        tenant: String::new(),
        tenant_choices: Vec::new(),
        q: p.q.clone().unwrap_or_default(),
        with_status: false,
        status: String::new(),
        new_link: String::new(),
        new_label: String::new(),
        export: p.href(path, "", None, false, 1),
        columns,
        rows,
        prev,
        next,
        page_label,
        f,
    };
    render(StatusCode::OK, &page)
}

pub async fn services(
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
            async move { kapu.list_services(&actor, &q).await }
        })
        .await;
        return csv_or_error(f, all, "services", |all| {
            exports::services(ctx.1, all, detailed)
        });
    }
    let page = match kapu.list_services(&actor, &p.paging()).await {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let path = "/admin/services";
    let mut columns = p.columns(
        path,
        "",
        &[("code", t.t("service.code")), ("name", t.t("service.name"))],
    );
    columns.push(Column {
        label: t.t("service.launch_url"),
        href: String::new(),
        sorted: false,
        desc: false,
    });
    columns.push(Column {
        label: t.t("group.roles"),
        href: String::new(),
        sorted: false,
        desc: false,
    });
    let (prev, next, page_label) = p.pager(path, "", &page, t);
    let rows = page
        .items
        .iter()
        .map(|s| Row {
            href: if s.builtin {
                String::new()
            } else {
                format!("/admin/services/{}", enc(&s.code))
            },
            cells: vec![
                s.code.clone(),
                builtin(&s.code, &s.name),
                s.launch_url.clone(),
                s.roles
                    .iter()
                    .map(|r| builtin(&r.id, &r.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            ],
        })
        .collect();
    let page = TablePage {
        title: t.t("admin.services").into(),
        caption: t.t("admin.services").into(),
        path,
        tenant: String::new(),
        tenant_choices: Vec::new(),
        q: p.q.clone().unwrap_or_default(),
        with_status: false,
        status: String::new(),
        new_link: if actor.central {
            "/admin/services/new".into()
        } else {
            String::new()
        },
        new_label: t.t("service.new").into(),
        export: p.href(path, "", None, false, 1),
        columns,
        rows,
        prev,
        next,
        page_label,
        f,
    };
    render(StatusCode::OK, &page)
}

fn service_form(f: Frame, existing: Option<&str>, v: &Pairs) -> FormPage {
    let t = f.t;
    let (title, action) = match existing {
        Some(code) => (
            format!("{}: {code}", t.t("service.service")),
            format!("/admin/services/{}", enc(code)),
        ),
        None => (
            t.t("service.new").to_string(),
            "/admin/services/new".to_string(),
        ),
    };
    let mut page = FormPage::new(f, &title, &action, t.t("ui.save"));
    if existing.is_none() {
        page.fields.push(
            Field::new(
                "code",
                t.t("service.code"),
                &value(v, "code"),
                "text",
                "off",
            )
            .hint(t.t("service.code_hint")),
        );
    }
    page.fields.push(Field::new(
        "name",
        t.t("service.name"),
        &value(v, "name"),
        "text",
        "off",
    ));
    page.fields.push(Field::new(
        "launch_url",
        t.t("service.launch_url"),
        &value(v, "launch_url"),
        "url",
        "off",
    ));
    page.fields.push(
        Field::new(
            "roles",
            t.t("group.roles"),
            &value(v, "roles"),
            "text",
            "off",
        )
        .hint(t.t("service.roles_hint")),
    );
    page
}

/// Roles typed as `code:name` pairs separated by `;`.
fn roles_from(text: &str) -> Vec<RoleInput> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (code, name) = s.split_once(':').unwrap_or((s, ""));
            RoleInput {
                code: code.trim().into(),
                name: name.trim().into(),
                description: String::new(),
            }
        })
        .collect()
}

pub async fn new_service_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    if let Some(refused) = form_refused(&ctx, &actor, policy::manage_catalog) {
        return refused;
    }
    render(
        StatusCode::OK,
        &service_form(frame(&ctx, &actor), None, &Vec::new()),
    )
}

pub async fn new_service_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let input = ServiceInput {
        code: value(&p, "code"),
        name: Some(value(&p, "name")),
        launch_url: Some(value(&p, "launch_url")),
    };
    match kapu
        .create_service(&actor, &input, &roles_from(&value(&p, "roles")))
        .await
    {
        Ok(_) => Redirect::to("/admin/services?notice=notice.saved").into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &service_form(f, None, &p))
        }
    }
}

pub async fn service_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
) -> Response {
    let f = frame(&ctx, &actor);
    match kapu.get_service(&actor, &code).await {
        Ok(s) => {
            let roles: Vec<String> = s
                .roles
                .iter()
                .map(|r| format!("{}:{}", r.code, r.name))
                .collect();
            let v = vec![
                ("name".to_string(), s.name.clone()),
                ("launch_url".to_string(), s.launch_url.clone()),
                ("roles".to_string(), roles.join("; ")),
            ];
            render(StatusCode::OK, &service_form(f, Some(&code), &v))
        }
        Err(e) => error_page(f, &e),
    }
}

pub async fn service_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(code): Path<String>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let input = ServiceInput {
        code: code.clone(),
        name: Some(value(&p, "name")),
        launch_url: Some(value(&p, "launch_url")),
    };
    match kapu
        .update_service(&actor, &code, &input, &roles_from(&value(&p, "roles")))
        .await
    {
        Ok(_) => Redirect::to("/admin/services?notice=notice.saved").into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &service_form(f, Some(&code), &p))
        }
    }
}

fn contract_form(f: Frame, tenant: &str, all: &[(String, String)], chosen: &[String]) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        &format!("{}: {tenant}", t.t("contract.title")),
        &format!("/admin/tenants/{}/services", enc(tenant)),
        t.t("ui.save"),
    );
    page.intro = t.t("contract.intro").into();
    page.groups.push(Choices::new(
        "services",
        t.t("admin.services"),
        true,
        all.iter()
            .map(|(c, n)| (c.clone(), n.clone(), chosen.contains(c)))
            .collect(),
    ));
    page
}

async fn catalogue(kapu: &Kapu, actor: &Actor) -> Vec<(String, String)> {
    let all = ListQuery {
        per_page: Some(1000),
        ..Default::default()
    };
    kapu.list_services(actor, &all)
        .await
        .map(|p| {
            p.items
                .into_iter()
                .filter(|s| !s.builtin)
                .map(|s| (s.code, s.name))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn contract_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(tenant): Path<String>,
) -> Response {
    let f = frame(&ctx, &actor);
    match kapu.tenant_services(&actor, &tenant).await {
        Ok(current) => {
            let chosen: Vec<String> = current.into_iter().map(|s| s.code).collect();
            render(
                StatusCode::OK,
                &contract_form(f, &tenant, &catalogue(&kapu, &actor).await, &chosen),
            )
        }
        Err(e) => error_page(f, &e),
    }
}

pub async fn contract_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(tenant): Path<String>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let chosen = values(&p, "services");
    match kapu.set_tenant_services(&actor, &tenant, &chosen).await {
        Ok(_) => Redirect::to(&format!(
            "/admin/tenants/{}?notice=notice.saved",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(
                status,
                &contract_form(f, &tenant, &catalogue(&kapu, &actor).await, &chosen),
            )
        }
    }
}
