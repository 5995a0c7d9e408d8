//! Rotating Kapu's signing keys from the console.

use serde_json::json;

use crate::Kapu;
use crate::actor::{AuditActor, RequestCtx};
use crate::error::Result;
use crate::platform::audit::{self, AuditEvent};

impl Kapu {
    /// A new active signing key; earlier public keys stay published for verification.
    pub async fn console_rotate_keys(&self) -> Result<String> {
        let now = self.now();
        let kid = self.keys().rotate(now).await?;
        let mut tx = self.db().write().await?;
        audit::record(
            &mut tx,
            now,
            &AuditActor::default(),
            &RequestCtx {
                client_addr: "console".into(),
                request_id: uuid::Uuid::now_v7().to_string(),
                client_cert: None,
            },
            AuditEvent::new("keys.rotate", "success")
                .target("signing_key", &kid, &kid)
                .details(json!({"alg": "EdDSA"})),
        )
        .await?;
        tx.commit().await?;
        Ok(kid)
    }
}
