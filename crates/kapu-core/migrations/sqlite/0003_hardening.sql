-- Counters of fixed time windows, by key ("reset-addr:<address>", "reset-login:<name@tenant>").
CREATE TABLE rate_counters (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_ms BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Failed logins of names that match no account: they lock exactly like real accounts, so
-- the answers do not tell which accounts exist.
CREATE TABLE login_name_failures (
    login TEXT PRIMARY KEY,
    failed_count BIGINT NOT NULL,
    locked_until BIGINT
);

-- Keys every node shares, made once (the pre-login form token key).
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Accent- and case-folded copies for filtering alike on every database (SQLite's LOWER knows
-- only ASCII); filled by the server from the text they fold.
ALTER TABLE tenants ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
