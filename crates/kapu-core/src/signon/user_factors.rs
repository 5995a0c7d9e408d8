//! A user's factors as user maintainers see and manage them: the devices bound, the
//! recovery codes left, and the temporary permits.

use serde::Serialize;

use super::factors::{FactorView, recovery_codes_left};
use super::permits::TemporaryPermit;
use crate::Kapu;
use crate::actor::{Actor, policy};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserFactors {
    /// `name@tenant`.
    pub user: String,
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
    /// Newest first, ended ones included.
    pub temporary_permits: Vec<TemporaryPermit>,
}

impl Kapu {
    pub async fn user_factors(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
    ) -> Result<UserFactors> {
        let user = self
            .target_user(actor, tenant_code, login, policy::read_users)
            .await?;
        Ok(UserFactors {
            user: user.full_login(),
            factors: self.factor_views(&user.id).await?,
            recovery_codes_left: recovery_codes_left(self.db().pool(), &user.id).await?,
            temporary_permits: self.permits_of(&user.id).await?,
        })
    }

    /// A maintainer removes a binding (a lost or returned device).
    pub async fn remove_user_factor(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        id: &str,
    ) -> Result<()> {
        let user = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        self.remove_factor(actor, &user, id).await
    }
}
