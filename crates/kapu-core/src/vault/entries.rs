//! Vault entries: a client's account on a portal, its TOTP key and recovery code (sealed
//! under the master key, bound to the entry), and the keys it had before a re-enrolment.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::levels::{self, Level, MY_GRANTS};
use super::otp::{self, OtpAlgorithm, OtpParams};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::fold::fold;
use crate::platform::list::{ListQuery, Page};
use crate::platform::time_fmt;

pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_NOTES: usize = 4000;
const MAX_RECOVERY: usize = 500;

/// A new entry as a person or an import gives it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntryInput {
    /// Whose account it is: the client's name.
    #[schema(min_length = 1, max_length = 200)]
    pub client_name: String,
    /// The account on the portal, e.g. the client's login name.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub account: String,
    /// The portal, e.g. `Ügyfélkapu+`.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub issuer: String,
    /// Base32, as the portal showed it; spaces, dashes, padding and case do not matter.
    #[schema(max_length = 300)]
    pub secret: String,
    /// [default: SHA1]
    pub algorithm: Option<OtpAlgorithm>,
    /// 6 to 8 [default: 6]
    pub digits: Option<i64>,
    /// Seconds per code, 10 to 600 [default: 30]
    pub period: Option<i64>,
    /// The recovery ("deletion") code the portal gave with the key.
    #[schema(max_length = 500)]
    pub recovery_code: Option<String>,
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
    pub folder_id: Option<String>,
}

/// A checked entry, ready to store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CleanEntry {
    pub client_name: String,
    pub account: String,
    pub issuer: String,
    pub secret: Vec<u8>,
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    pub period: u32,
    pub recovery_code: Option<String>,
    pub notes: String,
}

impl CleanEntry {
    pub fn params(&self) -> OtpParams {
        OtpParams {
            algorithm: self.algorithm,
            digits: self.digits,
            period: self.period,
        }
    }
}

pub(crate) fn bounded(
    problems: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    max: usize,
) -> String {
    let v = value.trim();
    if v.chars().count() > max || v.chars().any(char::is_control) {
        problems.push(FieldError::new(field, "vault.text_invalid"));
    }
    v.to_string()
}

/// Checks every field and reports all problems at once.
pub fn clean(input: &EntryInput) -> Result<CleanEntry> {
    let mut problems = Vec::new();
    let client_name = bounded(&mut problems, "client_name", &input.client_name, MAX_NAME);
    if client_name.is_empty() {
        problems.push(FieldError::new("client_name", "vault.client_name_required"));
    }
    let account = bounded(&mut problems, "account", &input.account, MAX_NAME);
    let issuer = bounded(&mut problems, "issuer", &input.issuer, MAX_NAME);
    let notes = input.notes.as_deref().unwrap_or("").trim().to_string();
    if notes.chars().count() > MAX_NOTES {
        problems.push(FieldError::new("notes", "vault.text_invalid"));
    }
    let recovery_code = match input.recovery_code.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(r) => Some(bounded(&mut problems, "recovery_code", r, MAX_RECOVERY)),
    };
    let secret = otp::parse_secret(&input.secret)
        .map_err(|key| problems.push(FieldError::new("secret", key)))
        .ok();
    let params = OtpParams::new(
        input.algorithm.unwrap_or_default(),
        input.digits.unwrap_or(6),
        input.period.unwrap_or(30),
    )
    .map_err(|e| {
        if let Error::Validation(p) = e {
            problems.extend(p);
        }
    })
    .ok();
    match (secret, params) {
        (Some(secret), Some(params)) if problems.is_empty() => Ok(CleanEntry {
            client_name,
            account,
            issuer,
            secret,
            algorithm: params.algorithm,
            digits: params.digits,
            period: params.period,
            recovery_code,
            notes,
        }),
        _ => Err(Error::Validation(problems)),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FolderRef {
    pub id: String,
    pub name: String,
}

/// An entry as a list or its page shows it: never its secret or recovery code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VaultEntry {
    pub id: String,
    pub client_name: String,
    pub account: String,
    pub issuer: String,
    pub folder: Option<FolderRef>,
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    pub period: u32,
    /// What the caller may do with it.
    pub level: Level,
    pub has_recovery_code: bool,
    /// When the current key was enrolled (RFC 3339).
    pub key_since: String,
    /// Earlier keys kept after re-enrolments.
    pub earlier_keys: i64,
    /// Only for `view` and `manage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub updated_at: String,
}

/// The row behind an entry, secrets still sealed.
pub(crate) struct EntryRow {
    pub id: String,
    pub client_name: String,
    pub account: String,
    pub issuer: String,
    pub folder_id: Option<String>,
    pub folder_name: Option<String>,
    pub algorithm: String,
    pub digits: i64,
    pub period: i64,
    pub secret_sealed: String,
    pub recovery_sealed: Option<String>,
    pub notes: String,
    pub key_since: i64,
    pub updated_at: i64,
    pub earlier_keys: i64,
}

pub(crate) type RawRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);

pub(crate) const ENTRY_COLUMNS: &str = "e.id, e.client_name, e.account, e.issuer, e.folder_id, f.name, e.algorithm, \
     e.digits, e.period, e.secret_sealed, e.recovery_sealed, e.notes, e.key_since, e.updated_at, \
     (SELECT COUNT(*) FROM vault_key_history h WHERE h.entry_id = e.id)";

pub(crate) const ENTRY_FROM: &str =
    "vault_entries e LEFT JOIN vault_folders f ON f.id = e.folder_id";

pub(crate) fn row(r: RawRow) -> EntryRow {
    EntryRow {
        id: r.0,
        client_name: r.1,
        account: r.2,
        issuer: r.3,
        folder_id: r.4,
        folder_name: r.5,
        algorithm: r.6,
        digits: r.7,
        period: r.8,
        secret_sealed: r.9,
        recovery_sealed: r.10,
        notes: r.11,
        key_since: r.12,
        updated_at: r.13,
        earlier_keys: r.14,
    }
}

impl EntryRow {
    pub fn params(&self) -> OtpParams {
        OtpParams {
            algorithm: OtpAlgorithm::parse(&self.algorithm).unwrap_or_default(),
            digits: self.digits as u8,
            period: self.period as u32,
        }
    }

    pub fn label(&self) -> String {
        match self.issuer.as_str() {
            "" => self.client_name.clone(),
            issuer => format!("{} / {issuer}", self.client_name),
        }
    }

    pub fn view(&self, level: Level) -> VaultEntry {
        let params = self.params();
        VaultEntry {
            id: self.id.clone(),
            client_name: self.client_name.clone(),
            account: self.account.clone(),
            issuer: self.issuer.clone(),
            folder: self
                .folder_id
                .clone()
                .zip(self.folder_name.clone())
                .map(|(id, name)| FolderRef { id, name }),
            algorithm: params.algorithm,
            digits: params.digits,
            period: params.period,
            level,
            has_recovery_code: self.recovery_sealed.is_some(),
            key_since: time_fmt::rfc3339(self.key_since),
            earlier_keys: self.earlier_keys,
            notes: (level >= Level::View).then(|| self.notes.clone()),
            updated_at: time_fmt::rfc3339(self.updated_at),
        }
    }
}

pub(crate) fn secret_context(id: &str) -> String {
    format!("vault:{id}:secret")
}

pub(crate) fn recovery_context(id: &str) -> String {
    format!("vault:{id}:recovery")
}

/// What may change about an entry without re-enrolment.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntryChange {
    #[schema(max_length = 200)]
    pub client_name: Option<String>,
    #[schema(max_length = 200)]
    pub account: Option<String>,
    #[schema(max_length = 200)]
    pub issuer: Option<String>,
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
    /// A folder id, or `""` for none.
    pub folder_id: Option<String>,
}

/// A client's re-enrolment: a new key and recovery code; the old pair is kept, dated.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RekeyInput {
    #[schema(max_length = 300)]
    pub secret: String,
    pub algorithm: Option<OtpAlgorithm>,
    pub digits: Option<i64>,
    pub period: Option<i64>,
    #[schema(max_length = 500)]
    pub recovery_code: Option<String>,
}

/// List filters beyond paging.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub list: ListQuery,
    pub folder_id: Option<String>,
}

impl Kapu {
    pub(crate) async fn entry_row(&self, tenant_id: &str, id: &str) -> Result<EntryRow> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE e.tenant_id = $1 AND e.id = $2"
        );
        let r: Option<RawRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?;
        r.map(row).ok_or(Error::NotFound)
    }

    /// An entry of the actor's tenant with the level they hold on it, at least `needed`.
    pub(crate) async fn entry_for(
        &self,
        actor: &Actor,
        id: &str,
        needed: Level,
    ) -> Result<(EntryRow, Level)> {
        self.vault_gate(actor).await?;
        levels::secure_for(actor, needed)?;
        let entry = self.entry_row(&actor.tenant_id, id).await?;
        let held = self
            .vault_level(actor, &entry.id, entry.folder_id.as_deref())
            .await?;
        let level = levels::require(held, needed)?;
        Ok((entry, level))
    }

    pub async fn vault_entry(&self, actor: &Actor, id: &str) -> Result<VaultEntry> {
        let (entry, level) = self.entry_for(actor, id, Level::Code).await?;
        Ok(entry.view(level))
    }

    /// The entries the actor may use, by client name.
    pub async fn vault_entries(&self, actor: &Actor, f: &EntryFilter) -> Result<Page<VaultEntry>> {
        self.vault_gate(actor).await?;
        let (page, per_page, offset) = f.list.window(200);
        let admin = levels::is_vault_admin(actor);
        let mut binds: Vec<String> = vec![actor.tenant_id.clone()];
        let mut filter = String::from("e.tenant_id = $1");
        // Others see the entries their grants name and those of the folders they name: two
        // small lists, so the page still walks the client-name index and stops at its end.
        let grants = if admin {
            Vec::new()
        } else {
            binds.push(actor.user_id.clone());
            filter.push_str(&format!(
                " AND (e.id IN (SELECT m.entry_id FROM ({MY_GRANTS}) m) \
                 OR e.folder_id IN (SELECT m.folder_id FROM ({MY_GRANTS}) m))"
            ));
            self.my_grants(actor).await?
        };
        if let Some(pattern) = f.list.like_pattern() {
            binds.push(pattern);
            let n = binds.len();
            filter.push_str(&format!(
                " AND (e.client_fold LIKE ${n} ESCAPE '\\' OR LOWER(e.issuer) LIKE ${n} ESCAPE '\\' OR LOWER(e.account) LIKE ${n} ESCAPE '\\')"
            ));
        }
        if let Some(folder) = &f.folder_id {
            binds.push(folder.clone());
            filter.push_str(&format!(" AND e.folder_id = ${}", binds.len()));
        }
        let order = if f.list.desc { "DESC" } else { "ASC" };
        let count_sql = if admin || binds.len() > 2 {
            format!("SELECT COUNT(*) FROM vault_entries e WHERE {filter}")
        } else {
            // Unfiltered, what a delegate sees is the entries of their folders (counted on
            // the folder index) and the entries named alone outside those folders. Grants,
            // folders and their entries all belong to the tenant.
            format!(
                "SELECT (SELECT COUNT(*) FROM vault_entries e WHERE e.folder_id IN \
                 (SELECT m.folder_id FROM ({MY_GRANTS}) m)) + (SELECT COUNT(*) FROM vault_entries e \
                 WHERE e.id IN (SELECT m.entry_id FROM ({MY_GRANTS}) m) AND (e.folder_id IS NULL \
                 OR e.folder_id NOT IN (SELECT m.folder_id FROM ({MY_GRANTS}) m WHERE m.folder_id IS NOT NULL)))"
            )
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE {filter} \
             ORDER BY e.client_fold {order}, e.id {order} LIMIT {per_page} OFFSET {offset}"
        );
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        let mut query = sqlx::query_as::<_, RawRow>(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            count = count.bind(b);
            query = query.bind(b);
        }
        let total = count.fetch_one(self.db().pool()).await?;
        let items = query
            .fetch_all(self.db().pool())
            .await?
            .into_iter()
            .map(row)
            .map(|e| {
                let level = if admin {
                    Level::Manage
                } else {
                    levels::held(&grants, &e.id, e.folder_id.as_deref()).unwrap_or(Level::Code)
                };
                e.view(level)
            })
            .collect();
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    async fn folder_for_new_entry(
        &self,
        actor: &Actor,
        folder_id: Option<&str>,
    ) -> Result<Option<String>> {
        match folder_id.filter(|f| !f.is_empty()) {
            None if levels::is_vault_admin(actor) => Ok(None),
            None => Err(Error::Forbidden),
            Some(folder) => {
                self.folder_name(&actor.tenant_id, folder)
                    .await
                    .map_err(|_| Error::field("folder_id", "vault.folder_unknown"))?;
                levels::require(self.folder_level(actor, folder).await?, Level::Manage)
                    .map_err(|_| Error::Forbidden)?;
                Ok(Some(folder.to_string()))
            }
        }
    }

    /// Adds an entry: vault administrators anywhere, folder managers into their folder.
    pub async fn create_vault_entry(
        &self,
        actor: &Actor,
        input: &EntryInput,
    ) -> Result<VaultEntry> {
        self.vault_gate(actor).await?;
        levels::secure_for(actor, Level::Manage)?;
        let folder = self
            .folder_for_new_entry(actor, input.folder_id.as_deref())
            .await?;
        let entry = clean(input)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let id = insert_entry(self, &mut tx, actor, &entry, folder.as_deref(), now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.create", "success")
                .tenant(&actor.tenant_id)
                .target("vault_entry", &id, &entry.client_name)
                .details(
                    json!({"issuer": entry.issuer, "account": entry.account, "folder": folder}),
                ),
        )
        .await?;
        tx.commit().await?;
        self.vault_entry(actor, &id).await
    }
}

pub(crate) fn seal_recovery(
    kapu: &Kapu,
    id: &str,
    recovery: Option<&str>,
) -> Result<Option<String>> {
    recovery
        .map(|r| kapu.master_key().seal(r.as_bytes(), &recovery_context(id)))
        .transpose()
}

/// Stores a checked entry; the caller audits and commits.
pub(crate) async fn insert_entry(
    kapu: &Kapu,
    tx: &mut WriteTx,
    actor: &Actor,
    entry: &CleanEntry,
    folder: Option<&str>,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO vault_entries (id, tenant_id, folder_id, client_name, client_fold, account, issuer, \
         algorithm, digits, period, secret_sealed, recovery_sealed, notes, key_since, created_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $14)",
    )
    .bind(&id)
    .bind(&actor.tenant_id)
    .bind(folder)
    .bind(&entry.client_name)
    .bind(fold(&entry.client_name))
    .bind(&entry.account)
    .bind(&entry.issuer)
    .bind(entry.algorithm.as_str())
    .bind(i64::from(entry.digits))
    .bind(i64::from(entry.period))
    .bind(kapu.master_key().seal(&entry.secret, &secret_context(&id))?)
    .bind(seal_recovery(kapu, &id, entry.recovery_code.as_deref())?)
    .bind(&entry.notes)
    .bind(now)
    .bind(actor.session_user_id())
    .execute(tx.conn())
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_checked_whole() {
        let ok = clean(&EntryInput {
            client_name: " Kiss Anna ".into(),
            account: "kiss.anna".into(),
            issuer: "Ügyfélkapu+".into(),
            secret: "jbsw y3dp ehpk 3pxp".into(),
            recovery_code: Some(" ABCD-1234 ".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.client_name, "Kiss Anna");
        assert_eq!(ok.recovery_code.as_deref(), Some("ABCD-1234"));
        assert_eq!(ok.params(), OtpParams::default());
        let Err(Error::Validation(p)) = clean(&EntryInput {
            client_name: " ".into(),
            secret: "not base32!".into(),
            digits: Some(10),
            ..Default::default()
        }) else {
            panic!("accepted");
        };
        let fields: Vec<_> = p.iter().map(|f| (f.field, f.key)).collect();
        assert_eq!(
            fields,
            [
                ("client_name", "vault.client_name_required"),
                ("secret", "vault.secret_not_base32"),
                ("digits", "vault.digits_range"),
            ]
        );
    }
}
