CREATE TABLE services (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    launch_url TEXT NOT NULL,
    builtin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (service_id, code)
);

-- The services a tenant subscribes to. Kapu's own service is always in effect.
CREATE TABLE tenant_services (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    service_id TEXT NOT NULL REFERENCES services (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, service_id)
);

-- Grants are kept when a contract ends; the contract filter decides whether they count.
CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id),
    role_id TEXT NOT NULL REFERENCES roles (id),
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_roles (
    group_id TEXT NOT NULL REFERENCES user_groups (id),
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (group_id, role_id)
);

CREATE TABLE substitutions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    deputy_id TEXT NOT NULL REFERENCES users (id),
    principal_id TEXT NOT NULL REFERENCES users (id),
    -- Set for a group substitution: the group whose roles it carries.
    group_id TEXT REFERENCES user_groups (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX substitutions_deputy ON substitutions (deputy_id, principal_id);
CREATE INDEX substitutions_principal ON substitutions (principal_id);

CREATE TABLE substitution_roles (
    substitution_id TEXT NOT NULL REFERENCES substitutions (id),
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (substitution_id, role_id)
);

INSERT INTO services (id, code, name, launch_url, builtin, created_at, updated_at)
VALUES ('kapu', 'kapu', 'Keretrendszer', '/', 1, 0, 0);

INSERT INTO roles (id, service_id, code, name, description, created_at) VALUES
('kapu.framework_user', 'kapu', 'framework_user', 'Keretrendszeri felhasználó', 'A Keretrendszer használatához szükséges minimum szerepkör, minden felhasználó automatikusan megkapja.', 0),
('kapu.log_reader', 'kapu', 'log_reader', 'Napló betekintő', 'Az üzleti napló bejegyzéseit megtekintő szerepkör.', 0),
('kapu.framework_admin', 'kapu', 'framework_admin', 'Keretrendszeri adminisztrátor', 'A rendszerváltozók módosítása és a statisztikai lekérdezések megtekintése.', 0),
('kapu.user_maintainer', 'kapu', 'user_maintainer', 'Felhasználó karbantartó', 'Az adott tenant felhasználóinak karbantartása.', 0),
('kapu.rights_admin', 'kapu', 'rights_admin', 'Felhasználói jogosultság adminisztrátor', 'Kizárólag a felhasználó szerepköreit és csoporttagságait karbantartó szerepkör.', 0),
('kapu.vir_admin', 'kapu', 'vir_admin', 'VIR adminisztrátor', 'Tenant felhasználók VIR kategóriáinak összerendelése.', 0),
('kapu.vir_reader', 'kapu', 'vir_reader', 'VIR olvasó', 'VIR jelentések megtekintése a felhasználóhoz rendelt kategóriákban.', 0),
('kapu.partner_recorder', 'kapu', 'partner_recorder', 'Partner rögzítő', 'Központi partner rögzítő szerepkör.', 0),
('kapu.partner_corrector', 'kapu', 'partner_corrector', 'Partner hibajavító', 'Központi partner szerkesztő szerepkör.', 0),
('kapu.partner_merger', 'kapu', 'partner_merger', 'Partner összevonó', 'Központi partnerek összevonása.', 0),
('kapu.partner_certifier', 'kapu', 'partner_certifier', 'Partner hitelesítő', 'Központi partnerek hitelességi szintjének módosítása.', 0),
('kapu.partner_reader', 'kapu', 'partner_reader', 'Partner olvasó', 'Központi partnerek megtekintése és keresése.', 0);
