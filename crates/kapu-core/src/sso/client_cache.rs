//! The client cache: registrations read on every token request, kept while no change is
//! heard of (see [`crate::platform::changes`]), so that a change made on any node applies to
//! the next request on every node.

use super::clients::ClientRecord;
use crate::platform::changes::Changes;

#[derive(Default)]
pub(crate) struct ClientCache {
    entries: std::sync::RwLock<std::collections::HashMap<String, (u64, Option<ClientRecord>)>>,
}

impl ClientCache {
    pub(super) fn get(&self, client_id: &str, changes: &Changes) -> Option<Option<ClientRecord>> {
        let entries = self.entries.read().ok()?;
        let (stamp, record) = entries.get(client_id)?;
        changes.still(*stamp).then(|| record.clone())
    }

    /// Keeps what was read under `stamp` (the generation current before reading).
    pub(super) fn put(&self, client_id: &str, stamp: Option<u64>, record: Option<ClientRecord>) {
        let Some(stamp) = stamp else { return };
        if let Ok(mut entries) = self.entries.write() {
            // Unknown ids are kept too (a flood of them must not reach the database), but
            // never more than a bounded number.
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (stamp, record));
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}
