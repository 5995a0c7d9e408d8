//! Technical users: a back office's programs, with the seed's id form `GROUP:NAME`. They are
//! users (so grants, groups and roles hold for them as for people) of kind `technical`: they
//! log in only through the machine doors, never to pages, never through OpenID Connect. Each
//! has a login password and a signature password, both made by Kapu (shown once) and kept as
//! Argon2id digests; a login may be held to source networks. Three wrong logins in a row
//! (`technical_lockout_threshold`) lock it until a user maintainer unlocks it.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

use super::attempts::{self, Attempt, Counter};
use crate::Kapu;
use crate::actor::{Actor, Mode, RequestCtx, policy};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditActor, AuditEvent};
use crate::platform::crypto::random_token;
use crate::platform::fold::fold;
use crate::platform::time_fmt;
use crate::signon::sessions::{self, SessionStart};

/// Most networks one technical user may be held to.
const NETWORKS_MAX: usize = 50;

/// `GROUP:NAME`: upper-case letters, digits, `_` and `-` on both sides, 1 to 32 each.
pub fn technical_id(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    let part = |p: &str| {
        (1..=32).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    match s.split_once(':') {
        Some((group, name)) if part(group) && part(name) => Ok(s.to_string()),
        _ => Err("technical.id_format"),
    }
}

/// Allowed source networks in CIDR form (a bare address is a network of one).
pub fn networks(list: &[String]) -> std::result::Result<Vec<ipnet::IpNet>, &'static str> {
    if list.len() > NETWORKS_MAX {
        return Err("technical.networks_too_many");
    }
    list.iter()
        .map(|n| {
            let n = n.trim();
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| "technical.network_invalid")
        })
        .collect()
}

/// Whether a connection from `addr` is inside the allowed networks (none: anywhere).
pub fn allowed_from(allowed: &[ipnet::IpNet], addr: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let ip = addr
        .parse::<std::net::SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| addr.parse::<IpAddr>());
    match ip {
        Ok(ip) => {
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
                v4 => v4,
            };
            allowed.iter().any(|n| n.contains(&ip))
        }
        Err(_) => false,
    }
}

/// A generated password: 32 random URL-safe characters (192 bits).
fn generated_password() -> Result<String> {
    let t = random_token()?;
    Ok(t.chars().take(32).collect())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TechnicalUser {
    /// `GROUP:NAME`.
    pub id: String,
    pub tenant: String,
    pub description: String,
    /// Who answers for it.
    pub contact: String,
    pub locked: bool,
    /// Allowed source networks (CIDR); empty: any.
    pub allowed_networks: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    pub last_login_at: Option<String>,
}

/// A technical user with its passwords, in this answer only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TechnicalPasswords {
    pub user: TechnicalUser,
    pub login_password: String,
    pub signature_password: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewTechnicalUser {
    pub id: String,
    pub description: String,
    pub contact: String,
    pub allowed_networks: Vec<String>,
}

/// What a login reads: id, tenant id, password digest, networks, administrator's lock.
type LoginRow = (String, String, Option<String>, Option<String>, i64);

type Row = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

const COLUMNS: &str = "u.login, t.code, COALESCE(u.description, ''), u.email, u.admin_locked, \
     u.allowed_networks, u.created_at, u.last_login_at FROM users u JOIN tenants t ON t.id = u.tenant_id";

fn view(r: Row) -> TechnicalUser {
    let (id, tenant, description, contact, locked, nets, created, last) = r;
    TechnicalUser {
        id,
        tenant,
        description,
        contact,
        locked: locked != 0,
        allowed_networks: nets
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: time_fmt::rfc3339(created),
        last_login_at: last.map(time_fmt::rfc3339),
    }
}

fn technical_actor(id: &str, login: &str) -> AuditActor {
    AuditActor {
        user_id: Some(id.to_string()),
        login: Some(login.to_string()),
        on_behalf_of: None,
    }
}

impl Kapu {
    /// Tells the tenant's user maintainers of a lock or an unlock, in the change's transaction.
    async fn tell_maintainers(
        &self,
        tx: &mut crate::platform::db::WriteTx,
        tenant_id: &str,
        id: &str,
        locked: bool,
        why: &str,
        now: i64,
    ) -> Result<()> {
        let sql = format!(
            "SELECT u.email FROM users u WHERE u.kind = 'person' AND {}",
            crate::access::guard::ACTIVE_USER_MAINTAINER
        );
        let to: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(tx.conn())
            .await?;
        let text = super::mail_text::technical_lock(id, locked, why);
        for address in to {
            crate::platform::mail::enqueue(
                tx,
                Some(tenant_id),
                &address,
                &text.subject,
                &text.body,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Whether the user is a technical user (a program).
    pub(crate) async fn is_technical(&self, user_id: &str) -> Result<bool> {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.db().pool())
            .await?;
        Ok(kind.as_deref() == Some("technical"))
    }

    async fn technical_user(&self, tenant_id: &str, id: &str) -> Result<TechnicalUser> {
        let sql = format!(
            "SELECT {COLUMNS} WHERE u.tenant_id = $1 AND u.login = $2 AND u.kind = 'technical' AND u.deleted_at IS NULL"
        );
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?;
        row.map(view).ok_or(Error::NotFound)
    }

    /// A tenant's technical users, by id.
    pub async fn list_technical_users(
        &self,
        actor: &Actor,
        tenant_code: &str,
    ) -> Result<Vec<TechnicalUser>> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let sql = format!(
            "SELECT {COLUMNS} WHERE u.tenant_id = $1 AND u.kind = 'technical' AND u.deleted_at IS NULL ORDER BY u.login"
        );
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&tenant.id)
            .fetch_all(self.db().pool())
            .await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Creates a technical user with both passwords made here, shown in this answer only.
    pub async fn create_technical_user(
        &self,
        actor: &Actor,
        tenant_code: &str,
        input: &NewTechnicalUser,
    ) -> Result<TechnicalPasswords> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let mut errors = Vec::new();
        let id = technical_id(&input.id).map_err(|k| errors.push(FieldError::new("id", k)));
        let description = input.description.trim();
        if description.is_empty() || description.chars().count() > 200 {
            errors.push(FieldError::new(
                "description",
                "technical.description_required",
            ));
        }
        let contact = crate::platform::names::email(&input.contact)
            .map_err(|k| errors.push(FieldError::new("contact", k)));
        let nets = networks(&input.allowed_networks)
            .map_err(|k| errors.push(FieldError::new("allowed_networks", k)));
        let (Ok(id), Ok(contact), Ok(nets), true) = (id, contact, nets, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let (login_password, signature_password) = (generated_password()?, generated_password()?);
        let login_hash = self.hasher().hash(&login_password).await?;
        let signature_hash = self.hasher().hash(&signature_password).await?;
        let now = self.now();
        let user_id = uuid::Uuid::now_v7().to_string();
        let nets_text = nets
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO users (id, tenant_id, login, full_name, full_name_key, email, email_key, password_hash, \
             password_changed_at, created_at, updated_at, kind, description, signature_hash, allowed_networks) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, 'technical', $10, $11, $12)",
        )
        .bind(&user_id)
        .bind(&tenant.id)
        .bind(&id)
        .bind(&id)
        .bind(fold(&id))
        .bind(&contact)
        .bind(fold(&contact))
        .bind(&login_hash)
        .bind(now)
        .bind(description)
        .bind(&signature_hash)
        .bind(Some(nets_text.clone()).filter(|t| !t.is_empty()))
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.login_taken"))?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("technical.create", "success")
                .tenant(&tenant.id)
                .target("user", &user_id, &format!("{id}@{}", tenant.code))
                .details(json!({"description": description, "allowed_networks": nets_text})),
        )
        .await?;
        tx.commit().await?;
        Ok(TechnicalPasswords {
            user: self.technical_user(&tenant.id, &id).await?,
            login_password,
            signature_password,
        })
    }

    /// New passwords for a technical user (both), shown in this answer only; its sessions end.
    pub async fn reset_technical_passwords(
        &self,
        actor: &Actor,
        tenant_code: &str,
        id: &str,
    ) -> Result<TechnicalPasswords> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        self.technical_user(&tenant.id, id).await?;
        let (login_password, signature_password) = (generated_password()?, generated_password()?);
        let login_hash = self.hasher().hash(&login_password).await?;
        let signature_hash = self.hasher().hash(&signature_password).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let user_id: String = sqlx::query_scalar(
            "UPDATE users SET password_hash = $1, signature_hash = $2, password_changed_at = $3, updated_at = $3, \
             failed_count = 0 WHERE tenant_id = $4 AND login = $5 AND kind = 'technical' RETURNING id",
        )
        .bind(&login_hash)
        .bind(&signature_hash)
        .bind(now)
        .bind(&tenant.id)
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        super::revocation::revoke_all_of(&mut tx, &user_id, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("technical.reset", "success")
                .tenant(&tenant.id)
                .target("user", &user_id, &format!("{id}@{}", tenant.code)),
        )
        .await?;
        tx.commit().await?;
        Ok(TechnicalPasswords {
            user: self.technical_user(&tenant.id, id).await?,
            login_password,
            signature_password,
        })
    }

    /// Lifts a lock (after wrong logins, or a maintainer's).
    pub async fn set_technical_lock(
        &self,
        actor: &Actor,
        tenant_code: &str,
        id: &str,
        locked: bool,
    ) -> Result<TechnicalUser> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        self.technical_user(&tenant.id, id).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let user_id: String = sqlx::query_scalar(
            "UPDATE users SET admin_locked = $1, failed_count = 0, updated_at = $2 \
             WHERE tenant_id = $3 AND login = $4 AND kind = 'technical' RETURNING id",
        )
        .bind(i64::from(locked))
        .bind(now)
        .bind(&tenant.id)
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        if locked {
            super::revocation::revoke_all_of(&mut tx, &user_id, now).await?;
        }
        let why = format!(
            "{} ({})",
            actor.full_login(),
            if locked { "lock" } else { "unlock" }
        );
        self.tell_maintainers(&mut tx, &tenant.id, id, locked, &why, now)
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new(
                if locked {
                    "technical.lock"
                } else {
                    "technical.unlock"
                },
                "success",
            )
            .tenant(&tenant.id)
            .target("user", &user_id, &format!("{id}@{}", tenant.code)),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        self.technical_user(&tenant.id, id).await
    }

    /// A technical user's login through a machine door: its networks, then its password,
    /// each attempt counted before it is judged; the third wrong one in a row locks it until
    /// a maintainer unlocks it. Every refusal reads the same.
    pub async fn machine_login(
        &self,
        ctx: &RequestCtx,
        tenant_code: &str,
        id: &str,
        password: &str,
    ) -> Result<sessions::NewSession> {
        let now = self.now();
        let found: Option<LoginRow> = sqlx::query_as(
            "SELECT u.id, u.tenant_id, u.password_hash, u.allowed_networks, u.admin_locked \
             FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE t.code = $1 AND u.login = $2 AND u.kind = 'technical' AND u.deleted_at IS NULL",
        )
        .bind(tenant_code)
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((user_id, tenant_id, hash, nets, locked)) = found else {
            self.hasher().verify_dummy(password).await?;
            return Err(Error::InvalidCredentials);
        };
        let full = format!("{id}@{tenant_code}");
        if locked != 0 {
            return Err(Error::AccountLocked);
        }
        let threshold = self
            .settings()
            .snapshot(&tenant_id)
            .await?
            .number("technical_lockout_threshold");
        let n = match self
            .count_attempt(Counter::Password, &user_id, threshold, now)
            .await?
        {
            Attempt::Locked => return Err(Error::AccountLocked),
            Attempt::Crowded => return Err(attempts::crowded()),
            Attempt::Numbered(n) => n,
        };
        let allowed = networks(
            &nets
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        let right = allowed_from(&allowed, &ctx.client_addr)
            && match hash {
                Some(h) => self.hasher().verify(password, &h).await?,
                None => false,
            };
        let mut tx = self.db().write().await?;
        if !right {
            let locks = attempts::locks(n, threshold);
            if locks {
                sqlx::query("UPDATE users SET admin_locked = 1, failed_count = 0 WHERE id = $1")
                    .bind(&user_id)
                    .execute(tx.conn())
                    .await?;
                let why = format!("{n} wrong logins / hibás belépés, {}", ctx.client_addr);
                self.tell_maintainers(&mut tx, &tenant_id, id, true, &why, now)
                    .await?;
            }
            audit::record(
                &mut tx,
                now,
                &technical_actor(&user_id, &full),
                ctx,
                AuditEvent::new(
                    "login",
                    if locks {
                        "wrong_password_locked"
                    } else {
                        "wrong_password"
                    },
                )
                .tenant(&tenant_id)
                .target("user", &user_id, &full)
                .details(json!({"door": "machine", "consecutive_failures": n})),
            )
            .await?;
            tx.commit().await?;
            if locks {
                self.mailer().wake();
            }
            return Err(if locks {
                Error::AccountLocked
            } else {
                Error::InvalidCredentials
            });
        }
        attempts::clear(&mut tx, Counter::Password, &user_id).await?;
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&user_id)
            .execute(tx.conn())
            .await?;
        let session = sessions::create(
            &mut tx,
            &SessionStart {
                user_id: &user_id,
                mode: Mode::Normal,
                restricted: false,
                roles: &[],
                acting_for: None,
                identity_pending: false,
                amr: "pwd",
                enrol_only: false,
                ends_at: None,
            },
            &ctx.client_addr,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            &technical_actor(&user_id, &full),
            ctx,
            AuditEvent::new("login", "success")
                .tenant(&tenant_id)
                .target("user", &user_id, &full)
                .details(json!({"door": "machine", "session": session.id})),
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_take_the_seeds_form() {
        assert_eq!(
            technical_id(" KONYV:IMPORT_1 ").as_deref(),
            Ok("KONYV:IMPORT_1")
        );
        assert!(technical_id("konyv:import").is_err());
        assert!(technical_id("KONYV").is_err());
        assert!(technical_id("KONYV:").is_err());
        assert!(technical_id("A:B:C").is_err());
    }

    #[test]
    fn networks_hold_a_login_to_its_addresses() {
        let nets = networks(&["10.1.0.0/16".into(), "192.0.2.7".into()]).unwrap();
        assert!(allowed_from(&nets, "10.1.2.3:5000"));
        assert!(allowed_from(&nets, "192.0.2.7"));
        assert!(allowed_from(&nets, "[::ffff:10.1.9.9]:443"));
        assert!(!allowed_from(&nets, "10.2.0.1:5000"));
        assert!(allowed_from(&[], "203.0.113.1:1"));
        assert!(networks(&["10.0.0.0/33".into()]).is_err());
    }
}
