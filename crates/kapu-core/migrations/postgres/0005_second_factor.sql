-- Second factors: what a user proves possession of after the password.
CREATE TABLE second_factors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    -- 'totp' for now; security keys and certificates join later.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- TOTP: the secret, sealed under the master key (bound to this row's id).
    secret TEXT,
    -- TOTP: the last time step a code was accepted for; a code of it or earlier is refused.
    last_step BIGINT,
    -- NULL while an enrolment waits for its first code; such rows never count as a factor.
    confirmed_at BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    last_used_at BIGINT
);
CREATE INDEX second_factors_user ON second_factors (user_id);

-- One-time recovery codes, only their digests.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, digest)
);

-- A login waiting for its second step: what the password step decided, kept for minutes.
CREATE TABLE login_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL,
    -- The principal a deputy named at login, as given; NULL for the own identity.
    act_for TEXT,
    choose_later BIGINT NOT NULL DEFAULT 0,
    client_addr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    ended_at BIGINT
);
CREATE INDEX login_challenges_expiry ON login_challenges (expires_at);

-- Wrong second-factor codes count apart from wrong passwords.
ALTER TABLE users ADD COLUMN factor_failed_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN factor_locked_until BIGINT;

-- How a session was opened (RFC 8176 values, space-separated), and whether it may only
-- enrol a factor (its user must have one and has none).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN enrol_only BIGINT NOT NULL DEFAULT 0;
