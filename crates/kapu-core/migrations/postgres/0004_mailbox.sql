-- Kapu's signing keys (receipts now, OpenID Connect tokens later). The private half is
-- sealed under the master key, which never enters the database. Retired keys stay published
-- so that everything they signed can still be verified.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- Office types, kept by central administrators.
CREATE TABLE office_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO office_types (code, name, created_at) VALUES
('onkormanyzat', 'Önkormányzat', 0),
('kormanyhivatal', 'Kormányhivatal', 0),
('kozuzem', 'Közüzemi szolgáltató', 0),
('egyeb', 'Egyéb szervezet', 0);

-- Office mailboxes (short name) and personal mailboxes (one per user).
CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    short_name TEXT UNIQUE,
    user_id TEXT UNIQUE REFERENCES users (id),
    -- How receipts name it: the short name, or the owner's name@tenant.
    address TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    office_type TEXT REFERENCES office_types (code),
    connection TEXT,
    public_key TEXT,
    notify_email TEXT,
    long_term_count BIGINT NOT NULL DEFAULT 0,
    -- Folder sizes, kept with every message filed, so a list's first page never counts a
    -- whole mailbox.
    inbox_count BIGINT NOT NULL DEFAULT 0,
    sent_count BIGINT NOT NULL DEFAULT 0,
    receipt_count BIGINT NOT NULL DEFAULT 0,
    closed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX mailboxes_tenant ON mailboxes (tenant_id);

-- Mailbox rights are roles of the built-in `hkp` service, made with each office mailbox and
-- grantable only in its tenant.
ALTER TABLE roles ADD COLUMN tenant_id TEXT;
INSERT INTO services (id, code, name, launch_url, builtin, created_at, updated_at, name_key)
VALUES ('hkp', 'hkp', 'Hivatali Kapu', '/mail', 1, 0, 0, 'hivatali kapu');

-- The one arrival counter of the installation: a sequence, and a per-second counter for the
-- machine form whose second never goes back.
CREATE TABLE arrival_counter (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    second BIGINT NOT NULL,
    in_second BIGINT NOT NULL
);
INSERT INTO arrival_counter (id, seq, second, in_second) VALUES (1, 0, 0, 0);

-- Messages, and receipts as system messages in the sender's mailbox (kind 'system').
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    sender_mailbox_id TEXT REFERENCES mailboxes (id),
    recipient_mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
    sender_user_id TEXT,
    sender_name TEXT NOT NULL,
    arrival_seq BIGINT NOT NULL UNIQUE,
    arrival_number TEXT NOT NULL UNIQUE,
    arrival_machine TEXT NOT NULL UNIQUE,
    arrived_at BIGINT NOT NULL,
    doc_type TEXT NOT NULL,
    doc_type_desc TEXT NOT NULL,
    doc_type_version TEXT,
    reference TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    note TEXT,
    receipt_requested BIGINT NOT NULL,
    in_reply_to TEXT REFERENCES messages (id),
    about_message_id TEXT REFERENCES messages (id),
    size BIGINT NOT NULL,
    documents BIGINT NOT NULL,
    e2e BIGINT NOT NULL DEFAULT 0,
    read_at BIGINT,
    delivered_at BIGINT,
    delivered_by TEXT,
    expires_at BIGINT,
    expired_at BIGINT,
    purged_at BIGINT,
    long_term BIGINT NOT NULL DEFAULT 0,
    client_id TEXT,
    content_digest TEXT,
    UNIQUE (sender_mailbox_id, client_id)
);
CREATE INDEX messages_inbox ON messages (recipient_mailbox_id, arrival_seq);
CREATE INDEX messages_sent ON messages (sender_mailbox_id, arrival_seq);
CREATE INDEX messages_expiry ON messages (expires_at);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    position BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL UNIQUE,
    sealed_key TEXT NOT NULL,
    purged_at BIGINT,
    UNIQUE (message_id, position)
);

CREATE TABLE receipts (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    kind TEXT NOT NULL,
    system_message_id TEXT NOT NULL REFERENCES messages (id),
    jws TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    UNIQUE (message_id, kind)
);
CREATE INDEX receipts_system_message ON receipts (system_message_id);

-- Per-user switch for arrival notifications (on by default).
ALTER TABLE users ADD COLUMN notify_mail BIGINT NOT NULL DEFAULT 1;

-- A self-registered citizen's chosen password, waiting for the e-mail address to be confirmed.
ALTER TABLE users ADD COLUMN pending_password_hash TEXT;
