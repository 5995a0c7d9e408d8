-- Whether a confidential client must send PKCE as public clients do (RFC 9700 2.1.1). Clients
-- registered before this column keep their old behaviour; new registrations take the
-- `sso_pkce_required` system variable's value unless the maintainer chooses.
ALTER TABLE sso_clients ADD COLUMN pkce_required INTEGER NOT NULL DEFAULT 0;

-- A login on a temporary permit ends with the permit (at its end, or earlier when an
-- administrator revokes it or the user first logs in with a device), and so do the grants
-- services were given in it.
ALTER TABLE sessions ADD COLUMN ends_at BIGINT;
ALTER TABLE sso_grants ADD COLUMN ends_at BIGINT;
-- A permit lets its user bind one replacement device; when it was bound.
ALTER TABLE temporary_permits ADD COLUMN replacement_bound_at BIGINT;
