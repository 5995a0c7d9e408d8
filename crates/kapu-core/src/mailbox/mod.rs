//! The receipted mailbox: office and personal mailboxes, the office directory, sending with
//! arrival numbers, signed receipts, downloads, expiry and clean-up. Document bytes live in
//! the blob store; everything else, and every receipt, in the database.

pub mod arrival_number;
pub mod document_types;
pub mod documents;
pub mod envelope;
pub(crate) mod filing;
pub mod housekeeping;
pub mod mailboxes;
pub mod messages;
pub mod notifications;
pub mod offices;
pub mod receipts;
pub mod rights;
mod send_limits;
mod send_writes;
pub mod sending;
pub mod short_name;
pub(crate) mod state;
pub mod validate;

pub use rights::Right;
pub use short_name::ShortName;
