-- A revoked grant whose service has not yet been told (back-channel logout). Security
-- events (a new password, a lock, a deletion, "log out everywhere") revoke grants in their
-- own transaction; the sign-on worker sends the notices and clears the mark.
ALTER TABLE sso_grants ADD COLUMN logout_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sso_grants_logout_pending ON sso_grants (logout_pending) WHERE logout_pending = 1;
CREATE INDEX sso_grants_deputy ON sso_grants (deputy_id);
