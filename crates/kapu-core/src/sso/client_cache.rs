//! The client cache: registrations read on every token request, kept while no change is
//! heard of (see [`crate::platform::changes`]), so that a change made on any node applies to
//! the next request on every node.

use super::clients::ClientRecord;
use crate::platform::changes::StampedMap;

/// By client id; unknown ids are kept too (a flood of them must not reach the database), but
/// never more than a bounded number.
pub(crate) struct ClientCache(pub(super) StampedMap<Option<ClientRecord>>);

impl Default for ClientCache {
    fn default() -> Self {
        ClientCache(StampedMap::new(10_000))
    }
}

impl ClientCache {
    pub(crate) fn forget(&self, client_id: &str) {
        self.0.forget(client_id);
    }
}
