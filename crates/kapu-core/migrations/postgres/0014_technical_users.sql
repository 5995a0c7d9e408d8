-- Technical users: a back office's programs, kept among the users so that grants, groups and
-- roles hold for them as for people. They log in only through the machine doors, with a
-- login password, sign with a separate signature password, and may be held to networks.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
ALTER TABLE users ADD COLUMN description TEXT;
ALTER TABLE users ADD COLUMN signature_hash TEXT;
-- Allowed source networks (CIDR), one a line; none: any.
ALTER TABLE users ADD COLUMN allowed_networks TEXT;
CREATE INDEX users_kind ON users (tenant_id, kind);
