//! What every list page shares: columns, sorting links, paging, filters and CSV links.

use askama::Template;
use axum::response::Response;
use kapu_core::identity::{ListQuery, Page};
use kapu_core::{Actor, Error};
use serde::Deserialize;

use super::frame::{Frame, MessagePage, render};
use crate::context::Ctx;

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

/// A form is shown only to those who could submit it (once in secure mode): the rule is the
/// one its submission is checked by. Others get the 403 page instead of a form that would fail.
pub(super) fn form_refused(
    ctx: &Ctx,
    actor: &Actor,
    rule: impl Fn(&Actor) -> kapu_core::Result<()>,
) -> Option<Response> {
    let mut secure = actor.clone();
    secure.mode = kapu_core::Mode::Secure;
    match rule(&secure) {
        Ok(()) => None,
        Err(e) => Some(error_page(frame(ctx, actor), &e)),
    }
}

/// Answers a list's CSV link: every matching row, or the error page.
pub(super) fn csv_or_error<T>(
    f: Frame,
    rows: kapu_core::Result<Vec<T>>,
    name: &str,
    write: impl FnOnce(&[T]) -> String,
) -> Response {
    match rows {
        Ok(all) => crate::exports::csv_response(name, write(&all)),
        Err(e) => error_page(f, &e),
    }
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
    /// Mailbox pages: `inbox`, `sent` or `receipts`.
    pub(super) folder: Option<String>,
}

impl ListParams {
    /// `Some(detailed)` when a CSV download is asked for.
    pub(super) fn csv(&self) -> Option<bool> {
        crate::exports::wants_csv(self.format.as_deref(), self.detailed.as_deref())
    }

    pub(super) fn paging(&self) -> ListQuery {
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
