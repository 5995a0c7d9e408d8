//! Office mailboxes (Hivatali Kapu), their type catalogue, and the office directory.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::rights::{self, Right};
use super::short_name::ShortName;
use super::validate;
use crate::Kapu;
/// Central framework administrators keep the office catalogue, as they keep the service
/// catalogue.
use crate::actor::policy::manage_catalog as manage_offices;
use crate::actor::{Actor, Mode};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::fold::fold;
use crate::platform::list::{ListQuery, Page};
use crate::platform::names;
use crate::platform::time_fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// A back-office system over the machine interface.
    Machine,
    /// Clerks in the browser.
    Browser,
    Both,
}

impl Connection {
    pub fn parse(s: &str) -> Option<Connection> {
        match s {
            "machine" => Some(Connection::Machine),
            "browser" => Some(Connection::Browser),
            "both" => Some(Connection::Both),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Machine => "machine",
            Connection::Browser => "browser",
            Connection::Both => "both",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfficeType {
    pub code: String,
    pub name: String,
}

/// An office as the directory shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Office {
    pub short_name: String,
    pub name: String,
    /// The tenant the office belongs to.
    pub tenant: String,
    pub office_type: String,
    pub office_type_name: String,
    pub connection: Connection,
    /// An `age` X25519 recipient: documents encrypted to it can be sent end to end.
    pub public_key: Option<String>,
    /// Shown to central administrators and the office's managers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_email: Option<String>,
    pub closed: bool,
    pub closed_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct OfficeInput {
    pub short_name: String,
    pub name: String,
    pub tenant: String,
    pub office_type: String,
    pub connection: String,
    pub public_key: Option<String>,
    pub notify_email: Option<String>,
}

/// A change; absent fields stay. Managers of the office may change only the key and the
/// notification address.
#[derive(Debug, Clone, Default)]
pub struct OfficeChange {
    pub name: Option<String>,
    pub office_type: Option<String>,
    pub connection: Option<String>,
    pub public_key: Option<String>,
    pub notify_email: Option<String>,
}

/// Office type codes follow the service codes' rule.
fn type_code(s: &str) -> std::result::Result<String, &'static str> {
    crate::access::catalog::parse_code(s).map_err(|_| "office_type.code_format")
}

const RIGHT_NAMES: [(Right, &str); 3] = [
    (Right::Read, "olvasás"),
    (Right::Send, "küldés"),
    (Right::Manage, "kezelés"),
];

const OFFICE_SELECT: &str = "SELECT m.short_name, m.name, t.code AS tenant, m.office_type, \
     ot.name AS office_type_name, m.connection, m.public_key, m.notify_email, m.closed_at, m.created_at \
     FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id JOIN office_types ot ON ot.code = m.office_type";

fn office_from_row(r: &sqlx::any::AnyRow, show_email: bool) -> Result<Office> {
    let connection: String = r.try_get("connection")?;
    let closed_at: Option<i64> = r.try_get("closed_at")?;
    let notify_email: Option<String> = r.try_get("notify_email")?;
    Ok(Office {
        short_name: r.try_get("short_name")?,
        name: r.try_get("name")?,
        tenant: r.try_get("tenant")?,
        office_type: r.try_get("office_type")?,
        office_type_name: r.try_get("office_type_name")?,
        connection: Connection::parse(&connection).unwrap_or(Connection::Both),
        public_key: r.try_get("public_key")?,
        notify_email: if show_email { notify_email } else { None },
        closed: closed_at.is_some(),
        closed_at: closed_at.map(time_fmt::rfc3339),
        created_at: time_fmt::rfc3339(r.try_get("created_at")?),
    })
}

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("short_name") {
        "short_name" => "m.short_name",
        "name" => "m.name_key",
        "office_type" => "m.office_type",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl Kapu {
    pub async fn office_types(&self, _actor: &Actor) -> Result<Vec<OfficeType>> {
        let rows = sqlx::query("SELECT code, name FROM office_types ORDER BY name")
            .fetch_all(self.db().pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OfficeType {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    pub async fn create_office_type(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
    ) -> Result<OfficeType> {
        manage_offices(actor)?;
        let mut errors = Vec::new();
        let code = type_code(code).map_err(|k| errors.push(FieldError::new("code", k)));
        let name = names::tenant_name(name)
            .map_err(|_| errors.push(FieldError::new("name", "office_type.name_required")));
        let (Ok(code), Ok(name)) = (code, name) else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("INSERT INTO office_types (code, name, created_at) VALUES ($1, $2, $3)")
            .bind(&code)
            .bind(&name)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| Error::on_unique(e, "conflict.office_type_taken"))?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("office_type.create", "success").target("office_type", &code, &name),
        )
        .await?;
        tx.commit().await?;
        Ok(OfficeType { code, name })
    }

    async fn office_type_exists(&self, code: &str) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT code FROM office_types WHERE code = $1")
                .bind(code)
                .fetch_optional(self.db().pool())
                .await?;
        Ok(found.is_some())
    }

    /// The office directory: every logged-in user may search it.
    pub async fn list_offices(
        &self,
        actor: &Actor,
        q: &ListQuery,
        office_type: Option<&str>,
    ) -> Result<Page<Office>> {
        let max = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = q.window(max);
        let order = sort_column(q.sort.as_deref())?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        let cond = "m.kind = 'office' AND ($1 IS NULL OR LOWER(m.short_name) LIKE $1 ESCAPE '\\' \
                    OR m.name_key LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR m.office_type = $2)";
        let pattern = q.like_pattern();
        let office_type = office_type.map(str::trim).filter(|t| !t.is_empty());
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{OFFICE_SELECT} WHERE {cond} ORDER BY {order} {dir}, m.short_name LIMIT $3 OFFSET $4"
        )))
        .bind(pattern.as_deref())
        .bind(office_type)
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM mailboxes m WHERE {cond}"
        )))
        .bind(pattern.as_deref())
        .bind(office_type)
        .fetch_one(self.db().pool())
        .await?;
        let items = rows
            .iter()
            .map(|r| office_from_row(r, false))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    pub async fn get_office(&self, actor: &Actor, short_name: &str) -> Result<Office> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{OFFICE_SELECT} WHERE m.short_name = $1"
        )))
        .bind(short_name)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        let mailbox = self.office_by_short_name(short_name).await?;
        let show_email =
            manage_offices(actor).is_ok() || rights::holds(actor, mailbox.owner(), Right::Manage);
        office_from_row(&row, show_email)
    }

    pub async fn create_office(&self, actor: &Actor, input: &OfficeInput) -> Result<Office> {
        manage_offices(actor)?;
        let mut errors = Vec::new();
        let short = ShortName::parse(&input.short_name)
            .map_err(|k| errors.push(FieldError::new("short_name", k)));
        let name = names::tenant_name(&input.name)
            .map_err(|_| errors.push(FieldError::new("name", "office.name_required")));
        let connection = Connection::parse(input.connection.trim())
            .ok_or_else(|| errors.push(FieldError::new("connection", "office.connection_invalid")));
        let key = validate::age_recipient(input.public_key.as_deref().unwrap_or(""))
            .map_err(|k| errors.push(FieldError::new("public_key", k)));
        let email = validate::optional_email(input.notify_email.as_deref().unwrap_or(""))
            .map_err(|k| errors.push(FieldError::new("notify_email", k)));
        let type_ok = self.office_type_exists(input.office_type.trim()).await?;
        if !type_ok {
            errors.push(FieldError::new("office_type", "office.type_unknown"));
        }
        let tenant = match self.tenant_by_code(input.tenant.trim()).await {
            Ok(t) => Some(t),
            Err(Error::NotFound) => {
                errors.push(FieldError::new("tenant", "office.tenant_unknown"));
                None
            }
            Err(e) => return Err(e),
        };
        let (Ok(short), Ok(name), Ok(connection), Ok(key), Ok(email), Some(tenant), true) = (
            short,
            name,
            connection,
            key,
            email,
            tenant,
            errors.is_empty(),
        ) else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO mailboxes (id, kind, tenant_id, short_name, address, name, name_key, office_type, \
             connection, public_key, notify_email, created_at, updated_at) \
             VALUES ($1, 'office', $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&id)
        .bind(&tenant.id)
        .bind(short.as_str())
        .bind(&name)
        .bind(fold(&name))
        .bind(input.office_type.trim())
        .bind(connection.as_str())
        .bind(key.as_deref())
        .bind(email.as_deref())
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.short_name_taken"))?;
        insert_rights(&mut tx, short.as_str(), &tenant.id, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("office.create", "success")
                .tenant(&tenant.id)
                .target("mailbox", &id, short.as_str())
                .details(
                    json!({"name": name, "office_type": input.office_type.trim(),
                    "connection": connection.as_str()}),
                ),
        )
        .await?;
        tx.commit().await?;
        self.get_office(actor, short.as_str()).await
    }

    pub async fn update_office(
        &self,
        actor: &Actor,
        short_name: &str,
        change: &OfficeChange,
    ) -> Result<Office> {
        let mailbox = self.office_by_short_name(short_name).await?;
        let central = manage_offices(actor);
        if central.is_err() {
            rights::check(actor, mailbox.owner(), Right::Manage)?;
            if actor.mode != Mode::Secure {
                return Err(Error::SecureModeRequired);
            }
            if change.name.is_some() || change.office_type.is_some() || change.connection.is_some()
            {
                return Err(Error::Forbidden);
            }
        }
        let mut errors = Vec::new();
        let name = change
            .name
            .as_deref()
            .map(|n| {
                names::tenant_name(n)
                    .map_err(|_| errors.push(FieldError::new("name", "office.name_required")))
            })
            .transpose();
        let connection = change
            .connection
            .as_deref()
            .map(|c| {
                Connection::parse(c.trim()).ok_or_else(|| {
                    errors.push(FieldError::new("connection", "office.connection_invalid"))
                })
            })
            .transpose();
        let key = change
            .public_key
            .as_deref()
            .map(|k| {
                validate::age_recipient(k)
                    .map_err(|e| errors.push(FieldError::new("public_key", e)))
            })
            .transpose();
        let email = change
            .notify_email
            .as_deref()
            .map(|e| {
                validate::optional_email(e)
                    .map_err(|k| errors.push(FieldError::new("notify_email", k)))
            })
            .transpose();
        if let Some(t) = &change.office_type
            && !self.office_type_exists(t.trim()).await?
        {
            errors.push(FieldError::new("office_type", "office.type_unknown"));
        }
        let (Ok(name), Ok(connection), Ok(key), Ok(email), true) =
            (name, connection, key, email, errors.is_empty())
        else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE mailboxes SET name = COALESCE($1, name), name_key = COALESCE($2, name_key), \
             office_type = COALESCE($3, office_type), connection = COALESCE($4, connection), \
             public_key = CASE WHEN $5 = 1 THEN $6 ELSE public_key END, \
             notify_email = CASE WHEN $7 = 1 THEN $8 ELSE notify_email END, updated_at = $9 WHERE id = $10",
        )
        .bind(name.as_deref())
        .bind(name.as_deref().map(fold))
        .bind(change.office_type.as_deref().map(str::trim))
        .bind(connection.map(Connection::as_str))
        .bind(i64::from(key.is_some()))
        .bind(key.clone().flatten())
        .bind(i64::from(email.is_some()))
        .bind(email.clone().flatten())
        .bind(now)
        .bind(&mailbox.id)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("office.update", "success")
                .tenant(&mailbox.tenant_id)
                .target("mailbox", &mailbox.id, short_name)
                .details(json!({"name": name, "office_type": change.office_type,
                    "connection": connection.map(Connection::as_str),
                    "public_key": key, "notify_email": email})),
        )
        .await?;
        tx.commit().await?;
        self.get_office(actor, short_name).await
    }

    /// Closes an office mailbox: its history stays, new mail to it is refused.
    pub async fn close_office(&self, actor: &Actor, short_name: &str) -> Result<Office> {
        manage_offices(actor)?;
        let mailbox = self.office_by_short_name(short_name).await?;
        if mailbox.closed_at.is_some() {
            return Err(Error::Conflict("conflict.office_closed"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE mailboxes SET closed_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&mailbox.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("office.close", "success")
                .tenant(&mailbox.tenant_id)
                .target("mailbox", &mailbox.id, short_name),
        )
        .await?;
        tx.commit().await?;
        self.get_office(actor, short_name).await
    }
}

/// The three rights of a new office, as roles of the `hkp` service grantable in its tenant.
async fn insert_rights(
    tx: &mut WriteTx,
    short_name: &str,
    tenant_id: &str,
    now: i64,
) -> Result<()> {
    for (right, label) in RIGHT_NAMES {
        let name = format!("{short_name} – {label}");
        sqlx::query(
            "INSERT INTO roles (id, service_id, code, name, description, created_at, name_key, tenant_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(rights::role_id(short_name, right))
        .bind(rights::SERVICE)
        .bind(format!("{short_name}.{}", right.code()))
        .bind(&name)
        .bind(format!("A(z) {short_name} hivatali postafiók: {label}."))
        .bind(now)
        .bind(fold(&name))
        .bind(tenant_id)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
