//! The append-only, hash-chained business log. Records are written inside the transaction
//! that makes the change they describe, so a change and its record land together or not at all.

use serde::Serialize;
use sqlx::Row;

use super::crypto::sha256_hex;
use super::db::{Db, WriteTx};
use super::rows::Table;
use crate::actor::RequestCtx;
use crate::error::Result;

pub use crate::actor::AuditActor;

#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub tenant_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    pub outcome: &'a str,
    pub details: serde_json::Value,
}

impl<'a> AuditEvent<'a> {
    pub fn new(action: &'a str, outcome: &'a str) -> Self {
        AuditEvent {
            tenant_id: None,
            action,
            target_type: None,
            target_id: None,
            target_label: None,
            outcome,
            details: serde_json::Value::Null,
        }
    }
    pub fn tenant(mut self, tenant_id: &'a str) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }
    pub fn target(mut self, kind: &'a str, id: &'a str, label: &'a str) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id);
        self.target_label = Some(label);
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// The fields the chain hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: i64,
    tenant_id: Option<&'a str>,
    actor_id: Option<&'a str>,
    actor_login: Option<&'a str>,
    on_behalf_of: Option<&'a str>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    target_label: Option<&'a str>,
    outcome: &'a str,
    client_addr: Option<&'a str>,
    request_id: Option<&'a str>,
    details: &'a str,
    prev_hash: &'a str,
}

fn chain_hash(h: &Hashed<'_>) -> String {
    let json = serde_json::to_vec(h).unwrap_or_default();
    sha256_hex(&json)
}

static AUDIT_LOG: Table = Table::new(
    "audit_log",
    &[
        "seq",
        "at",
        "tenant_id",
        "actor_id",
        "actor_login",
        "on_behalf_of",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "outcome",
        "client_addr",
        "request_id",
        "details",
        "prev_hash",
        "hash",
    ],
);

pub async fn record(
    tx: &mut WriteTx,
    at: i64,
    actor: &AuditActor,
    ctx: &RequestCtx,
    event: AuditEvent<'_>,
) -> Result<()> {
    if !tx.audited {
        return Err(crate::error::Error::Internal(
            "a business-log record in a transaction that did not take the chain's head".into(),
        ));
    }
    let seq = tx.head_seq + 1;
    let details = event.details.to_string();
    let prev = tx.head_hash.clone();
    let hashed = Hashed {
        seq,
        at,
        tenant_id: event.tenant_id,
        actor_id: actor.user_id.as_deref(),
        actor_login: actor.login.as_deref(),
        on_behalf_of: actor.on_behalf_of.as_deref(),
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id,
        target_label: event.target_label,
        outcome: event.outcome,
        client_addr: Some(ctx.client_addr.as_str()),
        request_id: Some(ctx.request_id.as_str()),
        details: &details,
        prev_hash: &prev,
    };
    let hash = chain_hash(&hashed);
    tx.insert(
        &AUDIT_LOG,
        vec![
            seq.into(),
            at.into(),
            event.tenant_id.into(),
            actor.user_id.as_deref().into(),
            actor.login.as_deref().into(),
            actor.on_behalf_of.as_deref().into(),
            event.action.into(),
            event.target_type.into(),
            event.target_id.into(),
            event.target_label.into(),
            event.outcome.into(),
            ctx.client_addr.as_str().into(),
            ctx.request_id.as_str().into(),
            details.into(),
            prev.into(),
            hash.as_str().into(),
        ],
    )
    .await?;
    tx.head_seq = seq;
    tx.head_hash = hash;
    tx.dirty = true;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub tenant_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_login: Option<String>,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub outcome: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    fn from_row(r: &sqlx::any::AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(AuditRecord {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            tenant_id: r.try_get("tenant_id")?,
            actor_id: r.try_get("actor_id")?,
            actor_login: r.try_get("actor_login")?,
            on_behalf_of: r.try_get("on_behalf_of")?,
            action: r.try_get("action")?,
            target_type: r.try_get("target_type")?,
            target_id: r.try_get("target_id")?,
            target_label: r.try_get("target_label")?,
            outcome: r.try_get("outcome")?,
            client_addr: r.try_get("client_addr")?,
            request_id: r.try_get("request_id")?,
            details: r.try_get("details")?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        })
    }

    fn recomputed_hash(&self) -> String {
        chain_hash(&Hashed {
            seq: self.seq,
            at: self.at,
            tenant_id: self.tenant_id.as_deref(),
            actor_id: self.actor_id.as_deref(),
            actor_login: self.actor_login.as_deref(),
            on_behalf_of: self.on_behalf_of.as_deref(),
            action: &self.action,
            target_type: self.target_type.as_deref(),
            target_id: self.target_id.as_deref(),
            target_label: self.target_label.as_deref(),
            outcome: &self.outcome,
            client_addr: self.client_addr.as_deref(),
            request_id: self.request_id.as_deref(),
            details: &self.details,
            prev_hash: &self.prev_hash,
        })
    }
}

const COLUMNS: &str = "seq, at, tenant_id, actor_id, actor_login, on_behalf_of, action, target_type, \
     target_id, target_label, outcome, client_addr, request_id, details, prev_hash, hash";

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub tenant_id: Option<String>,
    pub actor_or_target_id: Option<String>,
    pub kind: Option<Kind>,
    pub outcome: Option<String>,
    pub action: Option<String>,
    /// `name@tenant` of whoever acted (the deputy, when someone acted for another).
    pub actor_login: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The kinds of the business log (manual 9.11): administrative changes, logins, and
/// communication (e-mail now, machine-interface traffic later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = AuditKind)]
pub enum Kind {
    Central,
    Login,
    Communication,
}

/// Actions are named `area.verb`; the area says the kind.
const LOGIN_PREFIXES: [&str; 3] = ["login", "logout", "session"];
const COMMUNICATION_PREFIXES: [&str; 1] = ["mail."];

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "central" => Some(Kind::Central),
            "login" => Some(Kind::Login),
            "communication" => Some(Kind::Communication),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Central => "central",
            Kind::Login => "login",
            Kind::Communication => "communication",
        }
    }

    pub fn of(action: &str) -> Kind {
        if LOGIN_PREFIXES.iter().any(|p| action.starts_with(p)) {
            Kind::Login
        } else if COMMUNICATION_PREFIXES.iter().any(|p| action.starts_with(p)) {
            Kind::Communication
        } else {
            Kind::Central
        }
    }

    /// The same rule as [`Kind::of`], as SQL over the `action` column (constants only).
    fn predicate(self) -> String {
        let like = |ps: &[&str]| {
            ps.iter()
                .map(|p| format!("action LIKE '{p}%'"))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        match self {
            Kind::Login => format!("({})", like(&LOGIN_PREFIXES)),
            Kind::Communication => format!("({})", like(&COMMUNICATION_PREFIXES)),
            Kind::Central => format!(
                "NOT ({} OR {})",
                like(&LOGIN_PREFIXES),
                like(&COMMUNICATION_PREFIXES)
            ),
        }
    }
}

/// Newest first.
pub async fn query(db: &Db, f: &AuditFilter) -> Result<(Vec<AuditRecord>, i64)> {
    let kind = f
        .kind
        .map(|k| format!(" AND {}", k.predicate()))
        .unwrap_or_default();
    let cond = format!(
        "($1 IS NULL OR at >= $1) AND ($2 IS NULL OR at < $2) AND ($3 IS NULL OR tenant_id = $3) \
         AND ($4 IS NULL OR actor_id = $4 OR target_id = $4) AND ($5 IS NULL OR outcome = $5) \
         AND ($6 IS NULL OR action = $6) AND ($7 IS NULL OR actor_login = $7){kind}"
    );
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE {cond} ORDER BY seq DESC LIMIT $8 OFFSET $9"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.from)
        .bind(f.to)
        .bind(f.tenant_id.as_deref())
        .bind(f.actor_or_target_id.as_deref())
        .bind(f.outcome.as_deref())
        .bind(f.action.as_deref())
        .bind(f.actor_login.as_deref())
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(db.pool())
        .await?;
    let items = rows
        .iter()
        .map(AuditRecord::from_row)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_log WHERE {cond}"
    )))
    .bind(f.from)
    .bind(f.to)
    .bind(f.tenant_id.as_deref())
    .bind(f.actor_or_target_id.as_deref())
    .bind(f.outcome.as_deref())
    .bind(f.action.as_deref())
    .bind(f.actor_login.as_deref())
    .fetch_one(db.pool())
    .await?;
    Ok((items, total))
}

#[derive(Debug, PartialEq, Eq)]
pub enum ChainCheck {
    Intact { records: i64 },
    Broken { seq: i64, reason: &'static str },
}

/// Walks the whole chain in pages and reports the first record that does not fit. The head
/// is read first: writers commit records and head together, so every record up to it must be
/// there, and records committed while the walk runs (beyond it) are left for the next check.
pub async fn verify_chain(db: &Db) -> Result<ChainCheck> {
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 1000"
        )))
        .bind(expected_seq)
        .bind(head_seq)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let r = AuditRecord::from_row(row)?;
            if r.seq != expected_seq {
                return Ok(ChainCheck::Broken {
                    seq: expected_seq,
                    reason: "missing record",
                });
            }
            if r.prev_hash != prev {
                return Ok(ChainCheck::Broken {
                    seq: r.seq,
                    reason: "previous hash does not match",
                });
            }
            if r.recomputed_hash() != r.hash {
                return Ok(ChainCheck::Broken {
                    seq: r.seq,
                    reason: "record was altered",
                });
            }
            prev = r.hash;
            expected_seq += 1;
        }
    }
    if head_seq != expected_seq - 1 || head_hash != prev {
        return Ok(ChainCheck::Broken {
            seq: expected_seq,
            reason: "records were removed from the end",
        });
    }
    Ok(ChainCheck::Intact {
        records: expected_seq - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_area_of_an_action_says_its_kind() {
        assert_eq!(Kind::of("login"), Kind::Login);
        assert_eq!(Kind::of("login.identity"), Kind::Login);
        assert_eq!(Kind::of("logout"), Kind::Login);
        assert_eq!(Kind::of("mail.send"), Kind::Communication);
        assert_eq!(Kind::of("user.create"), Kind::Central);
        assert_eq!(Kind::of("request.denied"), Kind::Central);
        assert!(Kind::Central.predicate().starts_with("NOT ("));
    }
}
