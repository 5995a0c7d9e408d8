-- The change epoch: every change to what a process may hold in memory (sessions, who a
-- user is, their roles, groups, substitutions, contracts, system variables, OpenID Connect
-- clients) moves it forward, from triggers, so that no write path can forget to. A process
-- compares it after each of its own commits; on PostgreSQL the other processes also hear
-- of each change through NOTIFY on the channel kapu_changes.
CREATE TABLE change_epoch (
    id BIGINT PRIMARY KEY,
    epoch BIGINT NOT NULL
);
INSERT INTO change_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION kapu_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
    PERFORM pg_notify('kapu_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER changes_sessions AFTER UPDATE OF revoked_at, mode, restricted, csrf, roles_at_login, acting_for, identity_pending, amr, enrol_only, user_id, token_hash OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_users AFTER UPDATE OF login, full_name, admin_locked, deleted_at, tenant_id, password_hash, password_changed_at, warning_silenced_for OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_tenants AFTER UPDATE OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_services AFTER UPDATE OR DELETE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_roles AFTER UPDATE OR DELETE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_tenant_services AFTER INSERT OR UPDATE OR DELETE ON tenant_services
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_user_roles AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_user_groups AFTER DELETE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_group_members AFTER INSERT OR UPDATE OR DELETE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_group_roles AFTER INSERT OR UPDATE OR DELETE ON group_roles
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_substitutions AFTER INSERT OR UPDATE OR DELETE ON substitutions
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_substitution_roles AFTER INSERT OR UPDATE OR DELETE ON substitution_roles
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_settings AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();

CREATE TRIGGER changes_sso_clients AFTER INSERT OR UPDATE OR DELETE ON sso_clients
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();
