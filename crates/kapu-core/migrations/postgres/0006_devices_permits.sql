-- Security keys and passkeys (WebAuthn) and client certificates join authenticator apps.
-- WebAuthn: the credential id (base64url); certificate: the SHA-256 fingerprint (hex).
ALTER TABLE second_factors ADD COLUMN credential_id TEXT;
-- WebAuthn: the stored credential (public key, counter) as JSON; certificate: its subject.
ALTER TABLE second_factors ADD COLUMN credential TEXT;
-- One device, one user per tenant: a key or certificate is bound at most once in a tenant.
CREATE UNIQUE INDEX second_factors_device ON second_factors (tenant_id, kind, credential_id)
    WHERE credential_id IS NOT NULL;

-- A WebAuthn registration in progress: the ceremony's state between its two requests.
CREATE TABLE webauthn_registrations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Who started it: the user, or the maintainer binding the key with the user present.
    started_by TEXT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL
);

-- The WebAuthn request of a login's second step, kept with its challenge.
ALTER TABLE login_challenges ADD COLUMN webauthn_state TEXT;

-- Temporary permits (ideiglenes engedély): a user who lost the device passes the second
-- step without one, for 1 to 5 days, on a central administrator's word.
CREATE TABLE temporary_permits (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    reason TEXT NOT NULL,
    issued_by TEXT NOT NULL REFERENCES users (id),
    issued_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT REFERENCES users (id),
    -- 'device_login' (the user logged in with a device) or 'administrator'.
    revoke_reason TEXT,
    last_used_at BIGINT
);
CREATE INDEX temporary_permits_user ON temporary_permits (user_id);
CREATE INDEX temporary_permits_tenant ON temporary_permits (tenant_id, valid_until);
