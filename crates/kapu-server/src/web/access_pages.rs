//! Pages for rights, groups, substitutions and the service catalogue.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::catalog::{RoleInput, ServiceInput};
use kapu_core::access::grants::Source;
use kapu_core::access::groups::GroupInput;
use kapu_core::access::substitutions::{
    SubstitutionChanges, SubstitutionFilter, SubstitutionInput,
};
use kapu_core::identity::ListQuery;
use kapu_core::identity::users::StatusFilter;
use kapu_core::platform::time_fmt::parse_instant;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::admin::{Column, ListParams, Row, TablePage, enc, error_page, frame};
use super::frame::{Choices, ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use crate::context::Ctx;
use crate::exports;

/// A posted form as name–value pairs, so that repeated names (check boxes) survive.
type Pairs = Vec<(String, String)>;

fn value(p: &Pairs, name: &str) -> String {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn values(p: &Pairs, name: &str) -> Vec<String> {
    p.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn tenant_of(actor: &Actor, p: &ListParams) -> String {
    p.tenant
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| actor.tenant_code.clone())
}

// ---------------------------------------------------------------- rights

#[derive(Template)]
#[template(path = "rights.html")]
struct RightsPage {
    f: Frame,
    tenant: String,
    login: String,
    full_login: String,
    available_roles: Vec<(String, String)>,
    assigned_roles: Vec<(String, String)>,
    available_groups: Vec<(String, String)>,
    assigned_groups: Vec<(String, String)>,
    effective: Vec<(String, String)>,
    dirty: bool,
}

async fn rights_page(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    tenant: &str,
    login: &str,
    state: Option<(Vec<String>, Vec<String>)>,
    status: StatusCode,
) -> Response {
    let rights = match kapu.user_rights(actor, tenant, login).await {
        Ok(r) => r,
        Err(e) => return error_page(f, &e),
    };
    let t = f.t;
    let dirty = state.is_some();
    let (roles, groups) = state.unwrap_or((rights.individual.clone(), rights.groups.clone()));
    let role_label = |id: &str| {
        rights
            .available_roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| format!("{} – {}", r.service_name, r.name))
            .unwrap_or_else(|| id.to_string())
    };
    let group_label = |code: &str| {
        rights
            .available_groups
            .iter()
            .find(|g| g.0 == code)
            .map(|g| g.1.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let page = RightsPage {
        available_roles: rights
            .available_roles
            .iter()
            .filter(|r| !roles.contains(&r.id))
            .map(|r| (r.id.clone(), role_label(&r.id)))
            .collect(),
        assigned_roles: roles.iter().map(|r| (r.clone(), role_label(r))).collect(),
        available_groups: rights
            .available_groups
            .iter()
            .filter(|g| !groups.contains(&g.0))
            .cloned()
            .collect(),
        assigned_groups: groups.iter().map(|g| (g.clone(), group_label(g))).collect(),
        effective: rights
            .effective
            .iter()
            .map(|e| {
                let src = match &e.source {
                    Source::Group { group } => format!("{}: {group}", t.t("source.group")),
                    _ => t.t("source.individual").to_string(),
                };
                (format!("{} – {}", e.service, e.name), src)
            })
            .collect(),
        tenant: tenant.to_string(),
        login: login.to_string(),
        full_login: format!("{login}@{tenant}"),
        dirty,
        f,
    };
    render(status, &page)
}

pub async fn rights(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Response {
    rights_page(
        &kapu,
        frame(&ctx, &actor),
        &actor,
        &tenant,
        &login,
        None,
        StatusCode::OK,
    )
    .await
}

/// `>` and `<` move the selected entries and show the page again; "save" stores the lists.
pub async fn rights_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let mut roles = values(&p, "state_role");
    let mut groups = values(&p, "state_group");
    match value(&p, "op").as_str() {
        "add_role" => roles.extend(values(&p, "pick_role")),
        "remove_role" => {
            let drop = values(&p, "drop_role");
            roles.retain(|r| !drop.contains(r));
        }
        "add_group" => groups.extend(values(&p, "pick_group")),
        "remove_group" => {
            let drop = values(&p, "drop_group");
            groups.retain(|g| !drop.contains(g));
        }
        _ => {
            return match kapu
                .set_user_rights(&actor, &tenant, &login, Some(&roles), Some(&groups))
                .await
            {
                Ok(_) => Redirect::to(&format!(
                    "/admin/users/{}/{}?notice=notice.saved",
                    enc(&tenant),
                    enc(&login)
                ))
                .into_response(),
                Err(e) => {
                    let mut f = frame(&ctx, &actor);
                    let status = f.fail(&e);
                    rights_page(
                        &kapu,
                        f,
                        &actor,
                        &tenant,
                        &login,
                        Some((roles, groups)),
                        status,
                    )
                    .await
                }
            };
        }
    }
    roles.sort();
    roles.dedup();
    groups.sort();
    groups.dedup();
    rights_page(
        &kapu,
        frame(&ctx, &actor),
        &actor,
        &tenant,
        &login,
        Some((roles, groups)),
        StatusCode::OK,
    )
    .await
}

// ---------------------------------------------------------------- groups

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
        let all = exports::all_pages(&p.query(), |q| {
            let (kapu, actor, tenant) = (kapu.clone(), actor.clone(), tenant.clone());
            async move { kapu.list_groups(&actor, &tenant, &q).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response("groups", exports::groups(ctx.1, &all, detailed)),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu.list_groups(&actor, &tenant, &p.query()).await {
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
                    format!("{} – {}", r.service_name, r.name),
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

#[derive(Deserialize, Default)]
pub struct TenantParam {
    #[serde(default)]
    tenant: String,
}

pub async fn new_group_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
) -> Response {
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

// ---------------------------------------------------------------- substitutions

#[derive(Deserialize, Default)]
pub struct SubstitutionParams {
    #[serde(flatten)]
    list: ListParams,
    deputy: Option<String>,
    principal: Option<String>,
}

pub async fn substitutions(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<SubstitutionParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.list.notice.as_deref());
    let t = f.t;
    let tenant = tenant_of(&actor, &p.list);
    let filter = SubstitutionFilter {
        deputy: p.deputy.clone().filter(|s| !s.is_empty()),
        principal: p.principal.clone().filter(|s| !s.is_empty()),
        active: false,
    };
    if let Some(detailed) = p.list.csv() {
        let all = exports::all_pages(&p.list.query(), |q| {
            let (kapu, actor, tenant, filter) =
                (kapu.clone(), actor.clone(), tenant.clone(), filter.clone());
            async move { kapu.list_substitutions(&actor, &tenant, &filter, &q).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response(
                "substitutions",
                exports::substitutions(ctx.1, &all, detailed),
            ),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu
        .list_substitutions(&actor, &tenant, &filter, &p.list.query())
        .await
    {
        Ok(page) => page,
        Err(e) => return error_page(f, &e),
    };
    let path = "/admin/substitutions";
    let mut columns = p.list.columns(
        path,
        &tenant,
        &[
            ("deputy", t.t("subst.deputy")),
            ("principal", t.t("subst.principal")),
            ("starts_at", t.t("subst.starts")),
            ("ends_at", t.t("subst.ends")),
        ],
    );
    columns.push(Column {
        label: t.t("subst.roles"),
        href: String::new(),
        sorted: false,
        desc: false,
    });
    let (prev, next, page_label) = p.list.pager(path, &tenant, &page, t);
    let rows = page
        .items
        .iter()
        .map(|s| Row {
            href: format!("/admin/substitutions/{}/{}", enc(&tenant), enc(&s.id)),
            cells: vec![
                format!("{} ({})", s.deputy_name, s.deputy),
                format!("{} ({})", s.principal_name, s.principal),
                s.starts_at.replace('T', " "),
                s.ends_at
                    .clone()
                    .map(|e| e.replace('T', " "))
                    .unwrap_or_else(|| "–".into()),
                s.roles.join(", "),
            ],
        })
        .collect();
    let page = TablePage {
        title: t.t("admin.substitutions").into(),
        caption: format!("{}: {tenant}", t.t("tenant.tenant")),
        path,
        new_link: format!("/admin/substitutions/new?tenant={}", enc(&tenant)),
        new_label: t.t("subst.new").into(),
        export: p.list.href(path, &tenant, None, false, 1),
        tenant,
        tenant_choices: Vec::new(),
        q: p.list.q.clone().unwrap_or_default(),
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

async fn substitution_form(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    tenant: &str,
    v: &Pairs,
) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("subst.new"),
        &format!("/admin/substitutions/new?tenant={}", enc(tenant)),
        t.t("ui.save"),
    );
    page.intro = t.t("subst.intro").into();
    let all = ListQuery {
        per_page: Some(1000),
        ..Default::default()
    };
    let users = kapu
        .list_users(actor, tenant, &all, StatusFilter::Active)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let people = |chosen: String| -> Vec<(String, String, bool)> {
        users
            .iter()
            .map(|u| {
                (
                    u.login.clone(),
                    format!("{} ({})", u.full_name, u.login),
                    u.login == chosen,
                )
            })
            .collect()
    };
    page.groups.push(Choices::new(
        "deputy",
        t.t("subst.deputy"),
        false,
        people(value(v, "deputy")),
    ));
    page.groups.push(Choices::new(
        "principal",
        t.t("subst.principal"),
        false,
        people(value(v, "principal")),
    ));
    let tenant_id = kapu
        .get_tenant(actor, tenant)
        .await
        .map(|t| t.id)
        .unwrap_or_default();
    let roles = values(v, "roles");
    let mut role_choices = Choices::new(
        "roles",
        t.t("subst.roles"),
        true,
        kapu.grantable_roles(&tenant_id)
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    format!("{} – {}", r.service_name, r.name),
                    roles.contains(&r.id),
                )
            })
            .collect(),
    );
    role_choices.hint = t.t("subst.roles_hint").into();
    page.groups.push(role_choices);
    let groups = kapu
        .list_groups(actor, tenant, &all)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let chosen_group = value(v, "group");
    let mut group_options = vec![(
        String::new(),
        t.t("subst.no_group").to_string(),
        chosen_group.is_empty(),
    )];
    group_options.extend(
        groups
            .iter()
            .map(|g| (g.code.clone(), g.name.clone(), g.code == chosen_group)),
    );
    page.groups.push(Choices::new(
        "group",
        t.t("subst.group"),
        false,
        group_options,
    ));
    page.fields.push(
        Field::new(
            "starts_at",
            t.t("subst.starts"),
            &value(v, "starts_at"),
            "text",
            "off",
        )
        .hint(t.t("subst.date_hint")),
    );
    page.fields.push(
        Field::new(
            "ends_at",
            t.t("subst.ends"),
            &value(v, "ends_at"),
            "text",
            "off",
        )
        .hint(t.t("subst.end_hint")),
    );
    page
}

fn instant(p: &Pairs, name: &'static str) -> Result<Option<i64>, Error> {
    let raw = value(p, name);
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    // A bare "YYYY-MM-DD HH:MM" from the form counts as UTC.
    let normalised = if raw.len() == 16 && raw.as_bytes().get(10) == Some(&b' ') {
        format!("{}T{}:00Z", &raw[..10], &raw[11..])
    } else {
        raw.to_string()
    };
    parse_instant(&normalised)
        .map(Some)
        .ok_or_else(|| Error::field(name, "query.bad_date"))
}

pub async fn new_substitution_page(
    State(kapu): State<Kapu>,
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
        &substitution_form(&kapu, frame(&ctx, &actor), &actor, &tenant, &Vec::new()).await,
    )
}

pub async fn new_substitution_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(q): Query<TenantParam>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let result = async {
        let group = Some(value(&p, "group")).filter(|g| !g.is_empty());
        let input = SubstitutionInput {
            deputy: value(&p, "deputy"),
            principal: value(&p, "principal"),
            roles: if group.is_some() {
                None
            } else {
                Some(values(&p, "roles"))
            },
            group,
            starts_at: instant(&p, "starts_at")?,
            ends_at: instant(&p, "ends_at")?,
        };
        kapu.create_substitution(&actor, &q.tenant, &input).await
    };
    match result.await {
        Ok(_) => Redirect::to(&format!(
            "/admin/substitutions?tenant={}&notice=notice.saved",
            enc(&q.tenant)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(
                status,
                &substitution_form(&kapu, f, &actor, &q.tenant, &p).await,
            )
        }
    }
}

fn edit_substitution_form(
    f: Frame,
    tenant: &str,
    id: &str,
    s: &kapu_core::access::substitutions::Substitution,
    v: &Pairs,
) -> FormPage {
    let t = f.t;
    let base = format!("/admin/substitutions/{}/{}", enc(tenant), enc(id));
    let mut page = FormPage::new(
        f,
        &format!(
            "{}: {} → {}",
            t.t("admin.substitutions"),
            s.deputy_name,
            s.principal_name
        ),
        &base,
        t.t("ui.save"),
    );
    page.intro = format!("{}: {}", t.t("subst.roles"), s.roles.join(", "));
    page.fields.push(
        Field::new(
            "starts_at",
            t.t("subst.starts"),
            &value(v, "starts_at"),
            "text",
            "off",
        )
        .hint(t.t("subst.date_hint")),
    );
    page.fields.push(
        Field::new(
            "ends_at",
            t.t("subst.ends"),
            &value(v, "ends_at"),
            "text",
            "off",
        )
        .hint(t.t("subst.end_hint")),
    );
    page.links
        .push((format!("{base}/delete"), t.t("subst.delete").into()));
    page
}

pub async fn substitution_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    match kapu.get_substitution(&actor, &tenant, &id).await {
        Ok(s) => {
            let v = vec![
                ("starts_at".to_string(), s.starts_at.clone()),
                ("ends_at".to_string(), s.ends_at.clone().unwrap_or_default()),
            ];
            render(
                StatusCode::OK,
                &edit_substitution_form(f, &tenant, &id, &s, &v),
            )
        }
        Err(e) => error_page(f, &e),
    }
}

pub async fn substitution_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, id)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let result = async {
        let changes = SubstitutionChanges {
            starts_at: instant(&p, "starts_at")?,
            ends_at: Some(instant(&p, "ends_at")?),
            roles: None,
        };
        kapu.update_substitution(&actor, &tenant, &id, &changes)
            .await
    };
    match result.await {
        Ok(_) => Redirect::to(&format!(
            "/admin/substitutions?tenant={}&notice=notice.saved",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            match kapu.get_substitution(&actor, &tenant, &id).await {
                Ok(s) => render(status, &edit_substitution_form(f, &tenant, &id, &s, &p)),
                Err(e) => error_page(f, &e),
            }
        }
    }
}

pub async fn substitution_delete_page(
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    let base = format!("/admin/substitutions/{}/{}", enc(&tenant), enc(&id));
    render(
        StatusCode::OK,
        &ConfirmPage {
            title: t.t("subst.delete").into(),
            body: t.t("subst.delete_confirm").into(),
            action: format!("{base}/delete"),
            confirm: t.t("subst.delete").into(),
            back: base,
            f,
        },
    )
}

pub async fn substitution_delete(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, id)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    match kapu.delete_substitution(&actor, &tenant, &id).await {
        Ok(()) => Redirect::to(&format!(
            "/admin/substitutions?tenant={}&notice=notice.deleted_substitution",
            enc(&tenant)
        ))
        .into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

// ---------------------------------------------------------------- services and contracts

pub async fn roles(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.query(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_roles(&actor, &q).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response("roles", exports::roles(ctx.1, &all, detailed)),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu.list_roles(&actor, &p.query()).await {
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
                r.service_name.clone(),
                r.code.clone(),
                r.name.clone(),
                r.description.clone(),
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
        let all = exports::all_pages(&p.query(), |q| {
            let (kapu, actor) = (kapu.clone(), actor.clone());
            async move { kapu.list_services(&actor, &q).await }
        })
        .await;
        return match all {
            Ok(all) => exports::csv_response("services", exports::services(ctx.1, &all, detailed)),
            Err(e) => error_page(f, &e),
        };
    }
    let page = match kapu.list_services(&actor, &p.query()).await {
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
                s.name.clone(),
                s.launch_url.clone(),
                s.roles
                    .iter()
                    .map(|r| r.name.as_str())
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
