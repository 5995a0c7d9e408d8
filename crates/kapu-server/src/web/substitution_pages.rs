//! Substitution pages.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::substitutions::{
    SubstitutionChanges, SubstitutionFilter, SubstitutionInput,
};
use kapu_core::actor::policy;
use kapu_core::identity::ListQuery;
use kapu_core::identity::users::StatusFilter;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::builtin;
use super::frame::{Choices, ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{
    Column, ListParams, Row, TablePage, csv_or_error, enc, error_page, form_refused, frame,
};
use crate::context::Ctx;
use crate::exports;

use super::form_values::{Pairs, TenantParam, tenant_of, value, values};

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
        let all = exports::all_pages(&p.list.paging(), |q| {
            let (kapu, actor, tenant, filter) =
                (kapu.clone(), actor.clone(), tenant.clone(), filter.clone());
            async move { kapu.list_substitutions(&actor, &tenant, &filter, &q).await }
        })
        .await;
        return csv_or_error(f, all, "substitutions", |all| {
            exports::substitutions(ctx.1, all, detailed)
        });
    }
    let page = match kapu
        .list_substitutions(&actor, &tenant, &filter, &p.list.paging())
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
                super::frame::local_time(&s.starts_at),
                s.ends_at
                    .clone()
                    .map(|e| super::frame::local_time(&e))
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
                    format!(
                        "{} – {}",
                        builtin(&r.service, &r.service_name),
                        builtin(&r.id, &r.name)
                    ),
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

/// Times typed on the form are in the installation's zone, in any form the pages show.
fn instant(p: &Pairs, name: &'static str) -> Result<Option<i64>, Error> {
    super::frame::typed_time(name, &value(p, name))
}

pub async fn new_substitution_page(
    State(kapu): State<Kapu>,
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
                (
                    "starts_at".to_string(),
                    super::frame::local_time(&s.starts_at),
                ),
                (
                    "ends_at".to_string(),
                    s.ends_at
                        .as_deref()
                        .map(super::frame::local_time)
                        .unwrap_or_default(),
                ),
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
