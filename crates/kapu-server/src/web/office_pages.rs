//! The office directory, and the central administrators' office mailbox pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::actor::policy;
use kapu_core::mailbox::offices::{Office, OfficeChange, OfficeInput};
use kapu_core::{Actor, Kapu};
use serde::Deserialize;

use super::form_values::{Pairs, value};
use super::frame::{Choices, ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{ListParams, csv_or_error, enc, error_page, form_refused, frame};
use crate::context::Ctx;
use crate::{exports, mailbox_exports};

#[derive(Template)]
#[template(path = "offices.html")]
struct DirectoryPage {
    f: Frame,
    q: String,
    office_type: String,
    types: Vec<(String, String)>,
    can_manage: bool,
    /// The mailbox to send from: `me`.
    from: &'static str,
    caption: String,
    /// `(short name, name, type, closed, public key or empty)`.
    rows: Vec<(String, String, String, bool, String)>,
    export: String,
    prev: String,
    next: String,
    page_label: String,
}

#[derive(Deserialize, Default)]
pub struct TypeParam {
    #[serde(default)]
    office_type: String,
}

/// Whether the directory offers the office forms: to those their rule lets through once in
/// secure mode, as `form_refused` decides for the forms themselves.
fn keeps_offices(actor: &Actor) -> bool {
    let mut secure = actor.clone();
    secure.mode = kapu_core::Mode::Secure;
    policy::manage_catalog(&secure).is_ok()
}

pub async fn directory(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
    Query(tp): Query<TypeParam>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    let office_type = Some(tp.office_type.as_str()).filter(|s| !s.is_empty());
    if let Some(detailed) = p.csv() {
        let all = exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, ot) = (kapu.clone(), actor.clone(), tp.office_type.clone());
            async move {
                kapu.list_offices(&actor, &q, Some(ot.as_str()).filter(|s| !s.is_empty()))
                    .await
            }
        })
        .await;
        return csv_or_error(f, all, "offices", |all| {
            mailbox_exports::offices(ctx.1, all, detailed)
        });
    }
    let (page, types) = match (
        kapu.list_offices(&actor, &p.paging(), office_type).await,
        kapu.office_types(&actor).await,
    ) {
        (Ok(p), Ok(t)) => (p, t),
        (Err(e), _) | (_, Err(e)) => return error_page(f, &e),
    };
    let with_type = |href: String| {
        if tp.office_type.is_empty() {
            href
        } else {
            format!("{href}&office_type={}", enc(&tp.office_type))
        }
    };
    let (prev, next, page_label) = p.pager("/offices", "", &page, t);
    let rows = page
        .items
        .iter()
        .map(|o: &Office| {
            (
                o.short_name.clone(),
                o.name.clone(),
                o.office_type_name.clone(),
                o.closed,
                o.public_key.clone().unwrap_or_default(),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &DirectoryPage {
            q: p.q.clone().unwrap_or_default(),
            office_type: tp.office_type.clone(),
            types: types.into_iter().map(|t| (t.code, t.name)).collect(),
            can_manage: keeps_offices(&actor),
            from: "me",
            caption: t.t("mail.directory").into(),
            rows,
            export: with_type(p.href("/offices", "", None, false, 1)),
            prev: if prev.is_empty() {
                prev
            } else {
                with_type(prev)
            },
            next: if next.is_empty() {
                next
            } else {
                with_type(next)
            },
            page_label,
            f,
        },
    )
}

async fn office_form(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    existing: Option<&str>,
    v: &Pairs,
) -> FormPage {
    let t = f.t;
    let (title, action) = match existing {
        Some(s) => (
            format!("{}: {s}", t.t("mail.office")),
            format!("/admin/offices/{}", enc(s)),
        ),
        None => (
            t.t("mail.new_office").to_string(),
            "/admin/offices/new".to_string(),
        ),
    };
    let mut page = FormPage::new(f, &title, &action, t.t("ui.save"));
    if existing.is_none() {
        page.fields.push(
            Field::new(
                "short_name",
                t.t("col.short_name"),
                &value(v, "short_name"),
                "text",
                "off",
            )
            .hint(t.t("mail.short_name_hint")),
        );
        page.fields.push(Field::new(
            "tenant",
            t.t("tenant.tenant"),
            &value(v, "tenant"),
            "text",
            "off",
        ));
    }
    page.fields.push(Field::new(
        "name",
        t.t("mail.official_name"),
        &value(v, "name"),
        "text",
        "organization",
    ));
    page.fields.push(Field::new(
        "notify_email",
        t.t("mail.notify_email"),
        &value(v, "notify_email"),
        "email",
        "email",
    ));
    page.fields.push(
        Field::new(
            "public_key",
            t.t("mail.public_key"),
            &value(v, "public_key"),
            "text",
            "off",
        )
        .hint(t.t("mail.public_key_hint")),
    );
    let types = kapu.office_types(actor).await.unwrap_or_default();
    let chosen_type = value(v, "office_type");
    page.groups.push(Choices::new(
        "office_type",
        t.t("col.office_type"),
        false,
        types
            .into_iter()
            .map(|o| {
                let on = o.code == chosen_type;
                (o.code, o.name, on)
            })
            .collect(),
    ));
    let connection = value(v, "connection");
    page.groups.push(Choices::new(
        "connection",
        t.t("mail.connection"),
        false,
        [
            ("both", "mail.connection_both"),
            ("browser", "mail.connection_browser"),
            ("machine", "mail.connection_machine"),
        ]
        .into_iter()
        .map(|(c, k)| (c.to_string(), t.t(k).to_string(), connection == c))
        .collect(),
    ));
    if let Some(s) = existing {
        page.links.push((
            format!("/admin/offices/{}/close", enc(s)),
            t.t("mail.close_office").into(),
        ));
    }
    page.links
        .push(("/offices".into(), t.t("mail.directory").into()));
    page
}

fn office_values(o: &Office) -> Pairs {
    vec![
        ("name".into(), o.name.clone()),
        (
            "notify_email".into(),
            o.notify_email.clone().unwrap_or_default(),
        ),
        (
            "public_key".into(),
            o.public_key.clone().unwrap_or_default(),
        ),
        ("office_type".into(), o.office_type.clone()),
        ("connection".into(), o.connection.as_str().into()),
    ]
}

/// `/admin/offices`: the directory, where central administrators find every office's form.
pub async fn admin_list() -> Response {
    Redirect::to("/offices").into_response()
}

pub async fn new_office_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    if let Some(r) = form_refused(&ctx, &actor, policy::manage_catalog) {
        return r;
    }
    let f = frame(&ctx, &actor);
    render(
        StatusCode::OK,
        &office_form(&kapu, f, &actor, None, &Vec::new()).await,
    )
}

pub async fn new_office_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(v): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&v, "csrf")) {
        return r.into_response();
    }
    let input = OfficeInput {
        short_name: value(&v, "short_name"),
        name: value(&v, "name"),
        tenant: value(&v, "tenant"),
        office_type: value(&v, "office_type"),
        connection: value(&v, "connection"),
        public_key: Some(value(&v, "public_key")),
        notify_email: Some(value(&v, "notify_email")),
    };
    match kapu.create_office(&actor, &input).await {
        Ok(o) => Redirect::to(&format!(
            "/admin/offices/{}?notice=notice.saved",
            enc(&o.short_name)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &office_form(&kapu, f, &actor, None, &v).await)
        }
    }
}

pub async fn office_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
    Query(p): Query<ListParams>,
) -> Response {
    if let Some(r) = form_refused(&ctx, &actor, policy::manage_catalog) {
        return r;
    }
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    match kapu.get_office(&actor, &short).await {
        Ok(o) => render(
            StatusCode::OK,
            &office_form(&kapu, f, &actor, Some(&short), &office_values(&o)).await,
        ),
        Err(e) => error_page(f, &e),
    }
}

pub async fn office_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
    Form(v): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&v, "csrf")) {
        return r.into_response();
    }
    let change = OfficeChange {
        name: Some(value(&v, "name")),
        office_type: Some(value(&v, "office_type")),
        connection: Some(value(&v, "connection")),
        public_key: Some(value(&v, "public_key")),
        notify_email: Some(value(&v, "notify_email")),
    };
    match kapu.update_office(&actor, &short, &change).await {
        Ok(_) => Redirect::to(&format!(
            "/admin/offices/{}?notice=notice.saved",
            enc(&short)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(
                status,
                &office_form(&kapu, f, &actor, Some(&short), &v).await,
            )
        }
    }
}

pub async fn close_page(
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
) -> Response {
    if let Some(r) = form_refused(&ctx, &actor, policy::manage_catalog) {
        return r;
    }
    let f = frame(&ctx, &actor);
    let t = f.t;
    render(
        StatusCode::OK,
        &ConfirmPage {
            title: format!("{}: {short}", t.t("mail.close_office")),
            body: t.t("mail.close_office_body").into(),
            action: format!("/admin/offices/{}/close", enc(&short)),
            confirm: t.t("mail.close_office").into(),
            back: format!("/admin/offices/{}", enc(&short)),
            f,
        },
    )
}

pub async fn close_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
    Form(v): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&v, "csrf")) {
        return r.into_response();
    }
    match kapu.close_office(&actor, &short).await {
        Ok(_) => Redirect::to("/offices?notice=notice.office_closed").into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}
