-- Test tenants: a service in its test state accepts only their users.
ALTER TABLE tenants ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;

-- A service as an OpenID Connect client: its registration and its lifecycle.
CREATE TABLE sso_clients (
    service_id TEXT PRIMARY KEY REFERENCES services (id),
    -- The service code: what the client calls itself.
    client_id TEXT NOT NULL UNIQUE,
    -- 'confidential' (authenticates with a secret) or 'public' (PKCE alone).
    client_type TEXT NOT NULL,
    -- SHA-256 of the secret, shown once when made.
    secret_digest TEXT,
    -- The client's public keys (a JWKS), for private_key_jwt authentication.
    jwks TEXT,
    -- One exact address per line.
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '',
    -- Where Kapu tells the service that a session it was used for has ended.
    backchannel_logout_uri TEXT,
    -- How its ID tokens are signed: 'EdDSA', or 'RS256' for clients that know no other.
    token_alg TEXT NOT NULL DEFAULT 'EdDSA',
    -- 'public' or 'pairwise' subject identifiers.
    subject_type TEXT NOT NULL DEFAULT 'public',
    -- requested -> test -> production; or rejected, suspended.
    state TEXT NOT NULL,
    contact TEXT NOT NULL,
    requested_by TEXT REFERENCES users (id),
    requested_tenant TEXT REFERENCES tenants (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Authorization codes (the "transaction code"): single use, 60 seconds.
CREATE TABLE sso_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX sso_codes_expiry ON sso_codes (expires_at);

-- What a user allowed a service: one grant per authorization, the family its refresh
-- tokens belong to. Revoking it ends every token it gave.
CREATE TABLE sso_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    -- The subject: the principal when a deputy acts for someone.
    user_id TEXT NOT NULL REFERENCES users (id),
    -- The deputy acting for the subject, if any.
    deputy_id TEXT REFERENCES users (id),
    session_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- The roles of this service only, at authorization (space-separated role codes).
    roles TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sso_grants_user ON sso_grants (user_id);
CREATE INDEX sso_grants_session ON sso_grants (session_id);

-- Refresh tokens, rotated on every use; a used one presented again revokes its grant.
CREATE TABLE sso_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES sso_grants (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX sso_refresh_tokens_grant ON sso_refresh_tokens (grant_id);
CREATE INDEX sso_refresh_tokens_expiry ON sso_refresh_tokens (expires_at);

-- Client assertions (private_key_jwt) seen, so that none is accepted twice.
CREATE TABLE sso_assertions (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- Consent, remembered per user and service.
CREATE TABLE sso_consents (
    user_id TEXT NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
