//! User group pages.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::groups::GroupInput;
use kapu_core::actor::policy;
use kapu_core::identity::ListQuery;
use kapu_core::identity::users::StatusFilter;
use kapu_core::{Actor, Kapu};

use super::frame::builtin;
use super::frame::{Choices, ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{
    Column, ListParams, Row, TablePage, csv_or_error, enc, error_page, form_refused, frame,
};
use crate::context::Ctx;
use crate::exports;

use super::form_values::{Pairs, TenantParam, tenant_of, value, values};

pub async fn groups(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    let tenant = tenant_of(&actor, &p);
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_groups(&actor, &tenant, &q).await }
        })
        .await;
        return csv_or_error(f, all, "groups", |all| {
            exports::groups(ctx.1, all, detailed)
        });
    }
    let page = match kapu.list_groups(&actor, &tenant, &p.paging()).await {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let path = "/admin/groups";
    let mut columns = p.columns(
        path,
        &tenant,
        &[("code", t.t("group.code")), ("name", t.t("group.name"))],
    );
    columns.push(Column {
        label: t.t("group.members"),
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
    let (prev, next, page_label) = p.pager(path, &tenant, &page, t);
    let rows = page
        .items
        .iter()
        .map(|g| Row {
            href: format!("/admin/groups/{}/{}", enc(&tenant), enc(&g.code)),
            cells: vec![
                g.code.clone(),
                g.name.clone(),
                g.members.to_string(),
                g.roles.to_string(),
            ],
        })
        .collect();
    let page = TablePage {
        title: t.t("admin.groups").into(),
        caption: format!("{}: {tenant}", t.t("tenant.tenant")),
        path,
        new_link: format!("/admin/groups/new?tenant={}", enc(&tenant)),
        new_label: t.t("group.new").into(),
        export: p.href(path, &tenant, None, false, 1),
        tenant,
        tenant_choices: Vec::new(),
        q: p.q.clone().unwrap_or_default(),
        with_status: false,
        status: String::new(),
        columns,
        rows,
        prev,
        next,
        page_label,
        f,
    };
    render(StatusCode::OK, &page)
}

async fn group_form(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    tenant: &str,
    existing: Option<&str>,
    v: &Pairs,
) -> FormPage {
    let t = f.t;
    let title = match existing {
        Some(code) => format!("{}: {code}", t.t("admin.groups")),
        None => t.t("group.new").to_string(),
    };
    let action = match existing {
        Some(code) => format!("/admin/groups/{}/{}", enc(tenant), enc(code)),
        None => format!("/admin/groups/new?tenant={}", enc(tenant)),
    };
    let mut page = FormPage::new(f, &title, &action, t.t("ui.save"));
    if existing.is_none() {
        page.fields.push(
            Field::new("code", t.t("group.code"), &value(v, "code"), "text", "off")
                .hint(t.t("group.code_hint")),
        );
    }
    page.fields.push(Field::new(
        "name",
        t.t("group.name"),
        &value(v, "name"),
        "text",
        "off",
    ));
    let members = values(v, "members");
    let all = ListQuery {
        per_page: Some(1000),
        ..Default::default()
    };
    let users = kapu
        .list_users(actor, tenant, &all, StatusFilter::All)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    page.groups.push(Choices::new(
        "members",
        t.t("group.members"),
        true,
        users
            .iter()
            .map(|u| {
                (
                    u.login.clone(),
                    format!("{} ({})", u.full_name, u.login),
                    members.contains(&u.login),
                )
            })
            .collect(),
    ));
    let roles = values(v, "roles");
    let tenant_id = kapu
        .get_tenant(actor, tenant)
        .await
        .map(|t| t.id)
        .unwrap_or_default();
    let grantable = kapu.grantable_roles(&tenant_id).await.unwrap_or_default();
    page.groups.push(Choices::new(
        "roles",
        t.t("group.roles"),
        true,
        grantable
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    format!(
                        "{} – {}",
                        builtin(&r.service, &r.service_name),
                        builtin(&r.id, &r.name)
                    ),
                    roles.contains(&r.id),
                )
            })
            .collect(),
    ));
    if let Some(code) = existing {
        page.links.push((
            format!("/admin/groups/{}/{}/delete", enc(tenant), enc(code)),
            t.t("group.delete").into(),
        ));
    }
    page
}

pub async fn new_group_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
) -> Response {
    if let Some(refused) = form_refused(&ctx, &actor, |a| policy::manage_rights(a, &a.tenant_id)) {
        return refused;
    }
    let tenant = if q.tenant.is_empty() {
        actor.tenant_code.clone()
    } else {
        q.tenant
    };
    let page = group_form(
        &kapu,
        frame(&ctx, &actor),
        &actor,
        &tenant,
        None,
        &Vec::new(),
    )
    .await;
    render(StatusCode::OK, &page)
}

fn group_input(p: &Pairs) -> GroupInput {
    GroupInput {
        code: value(p, "code"),
        name: Some(value(p, "name")),
        members: Some(values(p, "members")),
        roles: Some(values(p, "roles")),
    }
}

pub async fn new_group_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    match kapu.create_group(&actor, &q.tenant, &group_input(&p)).await {
        Ok(_) => Redirect::to(&format!(
            "/admin/groups?tenant={}&notice=notice.saved",
            enc(&q.tenant)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(
                status,
                &group_form(&kapu, f, &actor, &q.tenant, None, &p).await,
            )
        }
    }
}

pub async fn group_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    let g = match kapu.get_group(&actor, &tenant, &code).await {
        Ok(g) => g,
        Err(e) => return error_page(f, &e),
    };
    let mut v: Pairs = vec![("name".into(), g.name.clone())];
    v.extend(g.members.iter().map(|m| ("members".to_string(), m.clone())));
    v.extend(g.roles.iter().map(|r| ("roles".to_string(), r.clone())));
    render(
        StatusCode::OK,
        &group_form(&kapu, f, &actor, &tenant, Some(&code), &v).await,
    )
}

pub async fn group_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, code)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    match kapu
        .update_group(&actor, &tenant, &code, &group_input(&p))
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/admin/groups?tenant={}&notice=notice.saved",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(
                status,
                &group_form(&kapu, f, &actor, &tenant, Some(&code), &p).await,
            )
        }
    }
}

pub async fn group_delete_page(
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, code)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    let base = format!("/admin/groups/{}/{}", enc(&tenant), enc(&code));
    render(
        StatusCode::OK,
        &ConfirmPage {
            title: format!("{}: {code}", t.t("group.delete")),
            body: t.t("group.delete_confirm").into(),
            action: format!("{base}/delete"),
            confirm: t.t("group.delete").into(),
            back: base,
            f,
        },
    )
}

pub async fn group_delete(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, code)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    match kapu.delete_group(&actor, &tenant, &code).await {
        Ok(()) => Redirect::to(&format!(
            "/admin/groups?tenant={}&notice=notice.deleted_group",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}
