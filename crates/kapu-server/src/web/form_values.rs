//! Reading posted forms whose check boxes repeat a name.

use kapu_core::Actor;
use serde::Deserialize;

use super::table::ListParams;

/// A posted form as name–value pairs, so that repeated names (check boxes) survive.
pub(super) type Pairs = Vec<(String, String)>;

pub(super) fn value(p: &Pairs, name: &str) -> String {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

pub(super) fn values(p: &Pairs, name: &str) -> Vec<String> {
    p.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

pub(super) fn tenant_of(actor: &Actor, p: &ListParams) -> String {
    p.tenant
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| actor.tenant_code.clone())
}

#[derive(Deserialize, Default)]
pub struct TenantParam {
    #[serde(default)]
    pub(super) tenant: String,
}
