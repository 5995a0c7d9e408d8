//! The client cache: registrations held for two seconds between token requests.

use super::clients::ClientRecord;

/// Client registrations read on every token request, kept for a moment: a change made on
/// this node takes effect at once, one made on another within the moment.
#[derive(Default)]
pub(crate) struct ClientCache {
    entries: std::sync::RwLock<
        std::collections::HashMap<String, (std::time::Instant, Option<ClientRecord>)>,
    >,
}

const CLIENT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl ClientCache {
    pub(super) fn get(&self, client_id: &str) -> Option<Option<ClientRecord>> {
        let entries = self.entries.read().ok()?;
        let (at, record) = entries.get(client_id)?;
        (at.elapsed() < CLIENT_CACHE_TTL).then(|| record.clone())
    }

    pub(super) fn put(&self, client_id: &str, record: Option<ClientRecord>) {
        if let Ok(mut entries) = self.entries.write() {
            // Unknown ids are kept too (a flood of them must not reach the database), but
            // never more than a bounded number.
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (std::time::Instant::now(), record));
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}
