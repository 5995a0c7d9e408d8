-- The shared two-factor vault: an office's TOTP entries for its clients' accounts, their key
-- history, delegation to staff, the app lock and the import previews.

CREATE TABLE vault_folders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE vault_entries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    folder_id TEXT REFERENCES vault_folders (id),
    client_name TEXT NOT NULL,
    -- Accent-folded, lower-case client name: what search and sorting use.
    client_fold TEXT NOT NULL,
    account TEXT NOT NULL,
    issuer TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    -- Sealed under the master key, bound to the entry's id.
    secret_sealed TEXT NOT NULL,
    recovery_sealed TEXT,
    notes TEXT NOT NULL,
    key_since BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Lists walk it in client order; it also answers which entries a delegation reaches.
CREATE INDEX vault_entries_tenant_client ON vault_entries (tenant_id, client_fold, id, folder_id);
CREATE INDEX vault_entries_folder ON vault_entries (folder_id);

-- Earlier keys of an entry, kept read-only when a client re-enrols.
CREATE TABLE vault_key_history (
    id TEXT PRIMARY KEY,
    entry_id TEXT NOT NULL REFERENCES vault_entries (id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    secret_sealed TEXT NOT NULL,
    recovery_sealed TEXT,
    valid_from BIGINT NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX vault_key_history_entry ON vault_key_history (entry_id, replaced_at);

-- Access to an entry or a folder, for a user or a group: 1 code, 2 view, 3 manage.
CREATE TABLE vault_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    entry_id TEXT REFERENCES vault_entries (id) ON DELETE CASCADE,
    folder_id TEXT REFERENCES vault_folders (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id),
    group_id TEXT REFERENCES user_groups (id) ON DELETE CASCADE,
    level INTEGER NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    CHECK ((entry_id IS NULL) <> (folder_id IS NULL)),
    CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    CHECK (level BETWEEN 1 AND 3)
);
CREATE UNIQUE INDEX vault_grants_entry_user ON vault_grants (entry_id, user_id) WHERE entry_id IS NOT NULL AND user_id IS NOT NULL;
CREATE UNIQUE INDEX vault_grants_entry_group ON vault_grants (entry_id, group_id) WHERE entry_id IS NOT NULL AND group_id IS NOT NULL;
CREATE UNIQUE INDEX vault_grants_folder_user ON vault_grants (folder_id, user_id) WHERE folder_id IS NOT NULL AND user_id IS NOT NULL;
CREATE UNIQUE INDEX vault_grants_folder_group ON vault_grants (folder_id, group_id) WHERE folder_id IS NOT NULL AND group_id IS NOT NULL;
CREATE INDEX vault_grants_user ON vault_grants (user_id);
CREATE INDEX vault_grants_group ON vault_grants (group_id);

-- A user's vault PIN (an Argon2id digest) and its wrong tries.
CREATE TABLE vault_pins (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    pin_hash TEXT NOT NULL,
    failures INTEGER NOT NULL,
    -- Set after too many wrong PINs: only the password unlocks until then.
    locked INTEGER NOT NULL,
    set_at BIGINT NOT NULL
);

-- An unlocked (or half-unlocked, waiting for the e-mail code) vault, per session.
CREATE TABLE vault_unlocks (
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    unlocked INTEGER NOT NULL,
    last_seen BIGINT NOT NULL,
    code_digest TEXT,
    code_expires_at BIGINT,
    code_failures INTEGER NOT NULL
);

-- Browsers that passed the e-mail check, by the digest of their cookie.
CREATE TABLE vault_browsers (
    token_digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    verified_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL
);
CREATE INDEX vault_browsers_until ON vault_browsers (valid_until);

-- An import between its preview and its confirmation; the parsed entries are sealed.
CREATE TABLE vault_imports (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    format TEXT NOT NULL,
    folder_id TEXT,
    -- The entries to store, sealed; emptied once they are stored.
    payload_sealed TEXT NOT NULL,
    total INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    done INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX audit_log_target ON audit_log (target_id, at);

INSERT INTO roles (id, service_id, code, name, description, created_at) VALUES
('kapu.vault_admin', 'kapu', 'vault_admin', 'Kódtár-adminisztrátor', 'A szervezet kódtárának minden bejegyzését kezeli, delegálja, importálja és exportálja.', 0);
