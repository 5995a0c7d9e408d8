//! Logging out of Kapu ends the services' sessions too: every grant the session gave is
//! revoked, and each service that registered a back-channel address is sent a signed
//! logout token (OpenID Connect Back-Channel Logout 1.0), in the background, with retries.

use std::time::Duration;

use serde_json::json;

use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::crypto::sha256_hex;

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ATTEMPTS: u32 = 3;

impl Kapu {
    /// Logs the session out of Kapu and of the services it was used for.
    pub async fn end_session(&self, actor: &Actor) -> Result<()> {
        self.logout(actor).await?;
        let mut tx = self.db().write_unaudited().await?;
        sqlx::query(
            "UPDATE sso_grants SET revoked_at = $1, logout_pending = 1 \
             WHERE session_id = $2 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(&actor.session_id)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.inner.sso.logouts.notify_one();
        Ok(())
    }

    /// Every session of the person, and every grant of theirs that services hold (the
    /// revocation of the identity room ends both in one transaction).
    pub async fn end_all_sessions(&self, actor: &Actor) -> Result<u64> {
        let n = self.logout_everywhere(actor).await?;
        self.inner.sso.logouts.notify_one();
        Ok(n)
    }

    /// Tells the services of grants revoked since the last round (back-channel logout),
    /// each grant once, even with several nodes: a node claims a grant before it sends.
    /// Returns how many notices went out.
    pub async fn send_pending_logouts(&self) -> Result<usize> {
        let pending: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT g.id, g.client_id, g.user_id, g.session_id, c.backchannel_logout_uri \
             FROM sso_grants g JOIN sso_clients c ON c.client_id = g.client_id \
             WHERE g.logout_pending = 1 LIMIT 500",
        )
        .fetch_all(self.db().pool())
        .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut notices = Vec::new();
        let mut tx = self.db().write_unaudited().await?;
        for (id, client_id, user_id, session, uri) in pending {
            let claimed = sqlx::query(
                "UPDATE sso_grants SET logout_pending = 0 WHERE id = $1 AND logout_pending = 1",
            )
            .bind(&id)
            .execute(tx.conn())
            .await?
            .rows_affected()
                == 1;
            if let Some(uri) = uri.filter(|u| claimed && !u.is_empty()) {
                notices.push((client_id, user_id, session, uri));
            }
        }
        tx.commit().await?;
        notices.sort();
        notices.dedup();
        let now = self.now();
        let sent = notices.len();
        let internal_allowed = self.internal_logout_allowed().await?;
        for (client_id, user_id, session, uri) in notices {
            let pairwise = self
                .client_record(&client_id)
                .await?
                .is_some_and(|c| c.pairwise);
            let sub = if pairwise {
                sha256_hex(format!("{client_id}:{user_id}").as_bytes())
            } else {
                user_id
            };
            let token = self
                .keys()
                .sign_jws(
                    "logout+jwt",
                    &json!({
                        "iss": self.config().public_url.trim_end_matches('/'),
                        "aud": client_id, "iat": now / 1000, "exp": now / 1000 + 120,
                        "jti": uuid::Uuid::now_v7().to_string(), "sub": sub, "sid": session,
                        "events": {BACKCHANNEL_EVENT: {}},
                    }),
                    now,
                )
                .await?;
            tokio::spawn(deliver(uri, token, internal_allowed));
        }
        Ok(sent)
    }

    /// Waits for the next round of logout notices: rung by this node, or every couple of
    /// seconds for revocations made elsewhere (another node, a security event).
    pub(super) async fn logouts_due(&self) {
        let _ =
            tokio::time::timeout(Duration::from_secs(2), self.inner.sso.logouts.notified()).await;
    }
}

/// Posts a logout token; a service that does not answer 2xx is tried again, then given up
/// on (its own sessions time out).
async fn deliver(uri: String, token: String, internal_allowed: bool) {
    // The name is resolved here and the request pinned to what was checked: a name that
    // points inside (or is re-pointed there between the check and the request) reaches
    // nothing behind Kapu.
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    if !internal_allowed {
        let Some((host, addr)) = outside_address(&uri).await else {
            tracing::warn!(%uri, "back-channel logout not sent: the address is internal or unknown");
            return;
        };
        builder = builder.resolve(&host, addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no HTTP client for back-channel logout");
            return;
        }
    };
    for attempt in 1..=ATTEMPTS {
        match client
            .post(&uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(%uri, status = %r.status(), attempt, "back-channel logout refused")
            }
            Err(e) => tracing::warn!(%uri, error = %e, attempt, "back-channel logout failed"),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
}

/// The host of `uri` and one address of it, when every address it has is outside.
async fn outside_address(uri: &str) -> Option<(String, std::net::SocketAddr)> {
    let origin = super::authorize::origin_of(uri)?;
    let (scheme, authority) = origin.split_once("://")?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(port) => (h.to_string(), port),
            Err(_) => (authority.to_string(), default_port),
        },
        _ => (authority.to_string(), default_port),
    };
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .ok()?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| super::addresses::internal_ip(a.ip())) {
        return None;
    }
    Some((bare, addrs[0]))
}

/// An RP-initiated logout's parameters (query or form).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What the hint and the client say about where to go and whose session it was.
#[derive(Debug, Default)]
pub struct LogoutPlan {
    /// The registered address to send the browser to afterwards, with `state`.
    pub target: Option<String>,
    /// The session the ID token hint names, when it is one of Kapu's tokens.
    pub hinted_session: Option<String>,
}

impl Kapu {
    /// Reads an RP-initiated logout: an address is followed only when the client
    /// (named, or the audience of a valid ID token hint) registered it exactly.
    pub async fn plan_logout(&self, req: &LogoutRequest) -> Result<LogoutPlan> {
        let hint = match req.id_token_hint.as_deref() {
            Some(h) => self.keys().verify(h).await?,
            None => None,
        };
        let audience = hint
            .as_ref()
            .and_then(|c| c["aud"].as_str().map(str::to_string));
        // RP-Initiated Logout 1.0, 2: a client named beside a hint must be the hint's audience.
        if let (Some(named), Some(aud)) = (req.client_id.as_deref(), audience.as_deref())
            && named != aud
        {
            return Err(Error::Conflict("sso.logout_client_mismatch"));
        }
        let client_id = req.client_id.clone().or(audience);
        let mut plan = LogoutPlan {
            hinted_session: hint
                .as_ref()
                .and_then(|c| c["sid"].as_str().map(str::to_string)),
            target: None,
        };
        if let (Some(client_id), Some(uri)) = (client_id, req.post_logout_redirect_uri.as_deref()) {
            // A client that does not serve is unknown here: no redirect to its addresses.
            let client = self
                .client_record(&client_id)
                .await?
                .filter(|c| c.state.serves())
                .ok_or(Error::Conflict("sso.client_unknown"))?;
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Ok(plan);
            }
            let mut params = Vec::new();
            if let Some(s) = req.state.as_deref() {
                params.push(("state", s));
            }
            plan.target = Some(super::authorize::with_params(uri, &params));
        }
        Ok(plan)
    }
}
