//! What the mailbox keeps in memory for the send path: mailboxes by owner or short name, and
//! each office's accepted document types, both per change generation.

use std::sync::Arc;

use super::document_types::DocumentType;
use super::mailboxes::MailboxRow;
use crate::platform::changes::StampedMap;

pub(crate) struct State {
    /// Mailboxes as the send path last read them, by owner or short name.
    pub(super) mailboxes: StampedMap<MailboxRow>,
    /// An office's accepted document types, by its mailbox id.
    pub(super) document_types: StampedMap<Arc<Vec<DocumentType>>>,
}

impl Default for State {
    fn default() -> State {
        State {
            mailboxes: StampedMap::new(10_000),
            document_types: StampedMap::new(10_000),
        }
    }
}
