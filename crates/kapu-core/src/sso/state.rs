//! What single sign-on keeps in memory: client registrations, the roles each subject holds
//! in a service, both per change generation, and the bell of the worker that tells services
//! about ended grants.

use std::sync::Arc;

use super::clients::ClientRecord;
use crate::platform::changes::StampedMap;

pub(crate) struct State {
    /// Client registrations (and unknown client ids), read on every token request.
    pub(super) clients: StampedMap<Option<ClientRecord>>,
    /// A subject's roles of one service, by `user_id` and client: what refreshed tokens,
    /// userinfo and introspection say now. Roles, groups and contracts move the generation.
    pub(super) roles: StampedMap<Arc<Vec<String>>>,
    /// Rung when grants were revoked here, so that their services hear of it at once.
    pub(super) logouts: tokio::sync::Notify,
}

impl Default for State {
    fn default() -> State {
        State {
            clients: StampedMap::new(10_000),
            roles: StampedMap::new(100_000),
            logouts: tokio::sync::Notify::new(),
        }
    }
}
