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

CREATE TRIGGER changes_sessions_update AFTER UPDATE OF revoked_at, mode, restricted, csrf, roles_at_login, acting_for, identity_pending, amr, enrol_only, user_id, token_hash ON sessions
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_sessions_delete AFTER DELETE ON sessions
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_users_update AFTER UPDATE OF login, full_name, admin_locked, deleted_at, tenant_id, password_hash, password_changed_at, warning_silenced_for ON users
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_users_delete AFTER DELETE ON users
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_tenants_update AFTER UPDATE ON tenants
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_tenants_delete AFTER DELETE ON tenants
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_services_update AFTER UPDATE ON services
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_services_delete AFTER DELETE ON services
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_roles_update AFTER UPDATE ON roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_roles_delete AFTER DELETE ON roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_tenant_services_insert AFTER INSERT ON tenant_services
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_tenant_services_update AFTER UPDATE ON tenant_services
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_tenant_services_delete AFTER DELETE ON tenant_services
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_user_roles_insert AFTER INSERT ON user_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_user_roles_update AFTER UPDATE ON user_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_user_roles_delete AFTER DELETE ON user_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_user_groups_delete AFTER DELETE ON user_groups
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_members_insert AFTER INSERT ON group_members
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_members_update AFTER UPDATE ON group_members
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_members_delete AFTER DELETE ON group_members
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_roles_insert AFTER INSERT ON group_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_roles_update AFTER UPDATE ON group_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_group_roles_delete AFTER DELETE ON group_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitutions_insert AFTER INSERT ON substitutions
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitutions_update AFTER UPDATE ON substitutions
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitutions_delete AFTER DELETE ON substitutions
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitution_roles_insert AFTER INSERT ON substitution_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitution_roles_update AFTER UPDATE ON substitution_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_substitution_roles_delete AFTER DELETE ON substitution_roles
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_settings_insert AFTER INSERT ON settings
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_settings_update AFTER UPDATE ON settings
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_settings_delete AFTER DELETE ON settings
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_sso_clients_insert AFTER INSERT ON sso_clients
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_sso_clients_update AFTER UPDATE ON sso_clients
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_sso_clients_delete AFTER DELETE ON sso_clients
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;
