//! Registering a client from the console (`kapu admin register-client`), for a first
//! service such as the example portal: the service is made if missing, registered as a
//! confidential client in production, and its new secret returned.

use super::clients::{ClientInput, ClientState};
use crate::Kapu;
use crate::access::catalog::ServiceInput;
use crate::actor::{Actor, Mode, RequestCtx, Role};
use crate::error::{Error, Result};

/// The console acting as a central framework administrator, in secure mode.
fn console(kapu_central: (String, String, String)) -> Actor {
    let (tenant_id, tenant_code, tenant_name) = kapu_central;
    Actor {
        user_id: "console".into(),
        login: "console".into(),
        full_name: "console".into(),
        tenant_id,
        tenant_code,
        tenant_name,
        central: true,
        mode: Mode::Secure,
        roles: vec![Role::FrameworkAdmin],
        role_ids: vec![Role::FrameworkAdmin.id()],
        deputy: None,
        identity_pending: false,
        session_id: String::new(),
        csrf: String::new(),
        restricted: false,
        enrol_only: false,
        amr: Vec::new(),
        technical: false,
        ctx: RequestCtx {
            client_addr: "console".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            client_cert: None,
        },
    }
}

impl Kapu {
    pub async fn console_register_client(
        &self,
        code: &str,
        name: &str,
        redirect_uris: Vec<String>,
        post_logout_redirect_uris: Vec<String>,
    ) -> Result<String> {
        let central: (String, String, String) =
            sqlx::query_as("SELECT id, code, name FROM tenants WHERE is_central = 1")
                .fetch_optional(self.db().pool())
                .await?
                .ok_or(Error::Conflict("conflict.not_bootstrapped"))?;
        let actor = console(central);
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM services WHERE code = $1")
            .bind(code)
            .fetch_optional(self.db().pool())
            .await?;
        if exists.is_none() {
            let launch = redirect_uris.first().cloned().unwrap_or_default();
            let origin: String = launch.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            self.create_service(
                &actor,
                &ServiceInput {
                    code: code.into(),
                    name: Some(name.into()),
                    launch_url: Some(format!("{origin}/")),
                },
                &[],
            )
            .await?;
        }
        self.register_client(
            &actor,
            code,
            &ClientInput {
                client_type: "confidential".into(),
                redirect_uris,
                post_logout_redirect_uris,
                backchannel_logout_uri: None,
                jwks: None,
                id_token_signed_response_alg: "EdDSA".into(),
                subject_type: "public".into(),
                contact: "console".into(),
                require_pkce: None,
            },
        )
        .await?;
        if let Some(client) = self.client_record(code).await?
            && client.state != ClientState::Production
        {
            self.set_client_state(&actor, code, ClientState::Production)
                .await?;
        }
        let rotated = self.rotate_client_secret(&actor, code).await?;
        rotated
            .client_secret
            .ok_or_else(|| Error::Internal("no secret".into()))
    }
}
