//! CSV exports of lists, shared by the API and the pages: the visible columns ("Export") or
//! every recorded field ("Detailed export"). Headers follow the reader's language.

use std::future::Future;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kapu_core::Result;
use kapu_core::access::catalog::{CatalogueRole, Service};
use kapu_core::access::groups::GroupSummary;
use kapu_core::access::substitutions::Substitution;
use kapu_core::admin::audit_log::AuditEntry;
use kapu_core::identity::tenants::Tenant;
use kapu_core::identity::users::User;
use kapu_core::identity::{ListQuery, Page};
use kapu_core::platform::csv::CsvWriter;
use kapu_core::platform::i18n::{Lang, text};
use kapu_core::vault::report::VaultLogEntry;

/// `Some(detailed)` when a list is asked for as CSV (`format=csv`, `detailed=1`).
pub fn wants_csv(format: Option<&str>, detailed: Option<&str>) -> Option<bool> {
    (format == Some("csv")).then_some(matches!(detailed, Some("1" | "true" | "yes")))
}

/// Collects every page a fetch gives for a page number, for export. The fetch asks for the
/// largest pages the service allows.
async fn every_page<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut number = 1;
    let mut out = Vec::new();
    loop {
        let page = fetch(number).await?;
        let done = page.page >= page.pages();
        out.extend(page.items);
        if done {
            return Ok(out);
        }
        number = page.page + 1;
    }
}

/// Collects every page of a list, for export.
pub async fn all_pages<T, F, Fut>(query: &ListQuery, mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    every_page(|number| {
        let mut q = query.clone();
        q.page = Some(number);
        q.per_page = Some(i64::MAX);
        fetch(q)
    })
    .await
}

pub fn csv_response(filename: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn header_row(w: &mut CsvWriter, lang: Lang, keys: &[&str]) {
    let cells: Vec<&str> = keys.iter().map(|k| text(lang, k)).collect();
    w.row(&cells);
}

pub(crate) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

pub fn users(lang: Lang, items: &[User], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "id",
            "tenant",
            "login",
            "full_login",
            "full_name",
            "email",
            "status",
            "locked",
            "locked_until",
            "created_at",
            "last_login_at",
            "password_changed_at",
        ]);
        for u in items {
            w.row(&[
                u.id.clone(),
                u.tenant.clone(),
                u.login.clone(),
                u.full_login.clone(),
                u.full_name.clone(),
                u.email.clone(),
                u.status.to_string(),
                u.locked.to_string(),
                opt(&u.locked_until),
                u.created_at.clone(),
                opt(&u.last_login_at),
                opt(&u.password_changed_at),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &[
                "user.login",
                "user.full_name",
                "user.email",
                "user.status",
                "user.last_login",
            ],
        );
        for u in items {
            w.row(&[
                u.login.clone(),
                u.full_name.clone(),
                u.email.clone(),
                text(lang, &format!("status.{}", u.status)).to_string(),
                opt(&u.last_login_at),
            ]);
        }
    }
    w.finish()
}

pub fn tenants(lang: Lang, items: &[Tenant], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&["code", "name", "central", "created_at"]);
        for t in items {
            w.row(&[
                t.code.clone(),
                t.name.clone(),
                t.central.to_string(),
                t.created_at.clone(),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &["tenant.code", "tenant.name", "tenant.created"],
        );
        for t in items {
            w.row(&[
                t.code.clone(),
                t.name.clone(),
                t.created_at.get(..10).unwrap_or("").to_string(),
            ]);
        }
    }
    w.finish()
}

pub fn groups(lang: Lang, items: &[GroupSummary], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&["code", "name", "members", "roles"]);
    } else {
        header_row(
            &mut w,
            lang,
            &["group.code", "group.name", "group.members", "group.roles"],
        );
    }
    for g in items {
        w.row(&[
            g.code.clone(),
            g.name.clone(),
            g.members.to_string(),
            g.roles.to_string(),
        ]);
    }
    w.finish()
}

pub fn services(lang: Lang, items: &[Service], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&["code", "name", "launch_url", "builtin", "roles"]);
        for s in items {
            let roles: Vec<&str> = s.roles.iter().map(|r| r.id.as_str()).collect();
            w.row(&[
                s.code.clone(),
                s.name.clone(),
                s.launch_url.clone(),
                s.builtin.to_string(),
                roles.join(" "),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &["service.code", "service.name", "service.launch_url"],
        );
        for s in items {
            w.row(&[s.code.clone(), s.name.clone(), s.launch_url.clone()]);
        }
    }
    w.finish()
}

pub fn roles(lang: Lang, items: &[CatalogueRole], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "id",
            "service",
            "service_name",
            "code",
            "name",
            "description",
        ]);
        for r in items {
            w.row(&[
                r.id.clone(),
                r.service.clone(),
                r.service_name.clone(),
                r.code.clone(),
                r.name.clone(),
                r.description.clone(),
            ]);
        }
    } else {
        header_row(&mut w, lang, &["service.service", "role.code", "role.name"]);
        for r in items {
            w.row(&[r.service_name.clone(), r.code.clone(), r.name.clone()]);
        }
    }
    w.finish()
}

pub fn substitutions(lang: Lang, items: &[Substitution], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "id",
            "tenant",
            "deputy",
            "deputy_name",
            "principal",
            "principal_name",
            "group",
            "roles",
            "starts_at",
            "ends_at",
            "active",
        ]);
        for s in items {
            w.row(&[
                s.id.clone(),
                s.tenant.clone(),
                s.deputy.clone(),
                s.deputy_name.clone(),
                s.principal.clone(),
                s.principal_name.clone(),
                opt(&s.group),
                s.roles.join(" "),
                s.starts_at.clone(),
                opt(&s.ends_at),
                s.active.to_string(),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &[
                "subst.deputy",
                "subst.principal",
                "subst.roles",
                "subst.starts",
                "subst.ends",
            ],
        );
        for s in items {
            w.row(&[
                s.deputy_name.clone(),
                s.principal_name.clone(),
                s.roles.join(", "),
                s.starts_at.clone(),
                opt(&s.ends_at),
            ]);
        }
    }
    w.finish()
}

pub fn vault_report(lang: Lang, items: &[VaultLogEntry]) -> String {
    let mut w = CsvWriter::new();
    header_row(
        &mut w,
        lang,
        &[
            "audit.at",
            "audit.actor",
            "vault.on_behalf_of",
            "audit.action",
            "vault.entry",
        ],
    );
    for r in items {
        w.row(&[
            r.at.clone(),
            opt(&r.actor),
            opt(&r.on_behalf_of),
            r.action.clone(),
            opt(&r.entry),
        ]);
    }
    w.finish()
}

pub fn audit(lang: Lang, items: &[AuditEntry], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "seq",
            "at",
            "kind",
            "tenant",
            "actor",
            "on_behalf_of",
            "action",
            "target_type",
            "target",
            "outcome",
            "client_addr",
            "request_id",
            "details",
            "hash",
        ]);
        for r in items {
            w.row(&[
                r.seq.to_string(),
                r.at.clone(),
                r.kind.as_str().to_string(),
                opt(&r.tenant),
                opt(&r.actor),
                opt(&r.on_behalf_of),
                r.action.clone(),
                opt(&r.target_type),
                opt(&r.target),
                r.outcome.clone(),
                opt(&r.client_addr),
                opt(&r.request_id),
                if r.details.is_null() {
                    String::new()
                } else {
                    r.details.to_string()
                },
                r.hash.clone(),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &[
                "audit.at",
                "audit.kind",
                "tenant.tenant",
                "audit.actor",
                "audit.action",
                "audit.target",
                "audit.outcome",
                "audit.address",
            ],
        );
        for r in items {
            w.row(&[
                r.at.clone(),
                text(lang, &format!("audit.kind.{}", r.kind.as_str())).to_string(),
                opt(&r.tenant),
                opt(&r.actor),
                r.action.clone(),
                opt(&r.target),
                r.outcome.clone(),
                opt(&r.client_addr),
            ]);
        }
    }
    w.finish()
}

/// Every page of a business-log query, for export.
pub async fn all_audit(
    kapu: &kapu_core::Kapu,
    actor: &kapu_core::Actor,
    query: &kapu_core::admin::audit_log::AuditQuery,
) -> Result<Vec<AuditEntry>> {
    every_page(|number| {
        let mut q = query.clone();
        q.page = Some(number);
        q.per_page = Some(i64::MAX);
        async move { kapu.query_audit(actor, &q).await }
    })
    .await
}
