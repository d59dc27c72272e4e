-- PgHaConsole store, PostgreSQL dialect (the SQLite twin is migrations/sqlite/0001_initial.sql: same tables,
-- same columns). Here ids are uuid, timestamps timestamptz (the repositories truncate them to milliseconds,
-- as SQLite stores Unix milliseconds), booleans boolean, enums TEXT holding the .NET enum member name.

CREATE TABLE clusters (
    id                   uuid    NOT NULL PRIMARY KEY,
    name                 text    NOT NULL,
    -- upper-invariant name: uniqueness is case-insensitive ("Prod" and "prod" would be confused when typed to confirm).
    name_key             text    NOT NULL,
    write_vip            text    NOT NULL,
    read_vip             text    NOT NULL,
    vip_prefix_length    integer NOT NULL,
    balancer             text    NOT NULL,
    vrrp_interface       text    NOT NULL,
    vrrp_router_id       integer NOT NULL,
    vrrp_node1_priority  integer NOT NULL,
    vrrp_node2_priority  integer NOT NULL,
    -- advert_int in milliseconds: exact in both dialects (VRRPv3 allows fractions of a second).
    vrrp_advert_int_ms   integer NOT NULL,
    pg_major_version     integer NOT NULL,
    pg_bin_dir           text    NOT NULL,
    pg_data_dir          text    NOT NULL,
    pg_port              integer NOT NULL,
    pg_os_user           text    NOT NULL,
    pg_service_control   text    NOT NULL,
    pg_systemd_unit      text    NULL,
    pg_replication_user  text    NOT NULL,
    pg_monitor_user      text    NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    -- optimistic concurrency: incremented by every update.
    row_version          bigint  NOT NULL DEFAULT 1,
    CONSTRAINT ux_clusters_name_key UNIQUE (name_key)
);

CREATE TABLE nodes (
    id                       uuid    NOT NULL PRIMARY KEY,
    cluster_id               uuid    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    -- 1 = the node that is primary when the cluster is first set up. Not unique per cluster on purpose:
    -- an update that swaps the two nodes would violate it between its two row updates.
    ordinal                  integer NOT NULL CHECK (ordinal IN (1, 2)),
    name                     text    NOT NULL,
    address                  text    NOT NULL,
    ssh_port                 integer NOT NULL,
    ssh_user                 text    NOT NULL,
    auth_kind                text    NOT NULL,
    privilege                text    NOT NULL,
    host_key_sha256          text    NULL,
    pending_host_key_sha256  text    NULL
);
CREATE INDEX ix_nodes_cluster ON nodes (cluster_id);

-- Only Data Protection ciphertext lives here, never a secret in clear.
CREATE TABLE secrets (
    cluster_id       uuid    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    -- set for a node's secret, so removing the node removes its secrets.
    node_id          uuid    NULL REFERENCES nodes (id) ON DELETE CASCADE,
    owner_id         uuid    NOT NULL,
    kind             text    NOT NULL,
    protected_value  text    NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (owner_id, kind),
    CHECK (owner_id = COALESCE(node_id, cluster_id))
);
CREATE INDEX ix_secrets_cluster ON secrets (cluster_id);
CREATE INDEX ix_secrets_node ON secrets (node_id);

CREATE TABLE users (
    id                    uuid    NOT NULL PRIMARY KEY,
    user_name             text    NOT NULL,
    normalized_user_name  text    NOT NULL,
    password_hash         text    NULL,
    security_stamp        text    NULL,
    role                  text    NOT NULL CHECK (role IN ('Viewer', 'Operator', 'Admin')),
    created_at            timestamptz NOT NULL,
    disabled              boolean NOT NULL DEFAULT false,
    CONSTRAINT ux_users_normalized_user_name UNIQUE (normalized_user_name)
);

CREATE TABLE api_tokens (
    id            uuid    NOT NULL PRIMARY KEY,
    name          text    NOT NULL,
    -- SHA-256 of the token, lowercase hex; the token itself is shown once and never stored.
    token_hash    text    NOT NULL,
    prefix        text    NOT NULL,
    role          text    NOT NULL CHECK (role IN ('Viewer', 'Operator', 'Admin')),
    created_by    text    NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NULL,
    revoked_at    timestamptz NULL,
    CONSTRAINT ux_api_tokens_token_hash UNIQUE (token_hash)
);

-- No foreign key to clusters: the audit trail outlives the clusters it mentions.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text    NOT NULL,
    action      text    NOT NULL,
    cluster_id  uuid    NULL,
    target      text    NULL,
    result      text    NOT NULL,
    detail      text    NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_cluster_at ON audit_log (cluster_id, at);

-- The operations journal (setup, switchover, rejoin, rebuild): the source of truth after a restart.
CREATE TABLE operations (
    id            uuid    NOT NULL PRIMARY KEY,
    cluster_id    uuid    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    kind          text    NOT NULL,
    status        text    NOT NULL,
    -- ordinal of the step running (or last run): "interrupted at step N".
    current_step  integer NULL,
    requested_by  text    NOT NULL,
    created_at    timestamptz NOT NULL,
    started_at    timestamptz NULL,
    finished_at   timestamptz NULL,
    error         text    NULL,
    report_json   text    NULL
);
CREATE INDEX ix_operations_cluster_created ON operations (cluster_id, created_at);
CREATE INDEX ix_operations_status ON operations (status);

CREATE TABLE operation_steps (
    operation_id  uuid    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    name          text    NOT NULL,
    status        text    NOT NULL,
    started_at    timestamptz NULL,
    finished_at   timestamptz NULL,
    message       text    NULL,
    PRIMARY KEY (operation_id, ordinal)
);

CREATE TABLE operation_log (
    operation_id  uuid    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    seq           bigint  NOT NULL,
    at            timestamptz NOT NULL,
    -- ordinal of the step that wrote the line; NULL for lines outside any step.
    step          integer NULL,
    -- 'stdout', 'stderr' or 'info'.
    stream        text    NOT NULL,
    line          text    NOT NULL,
    PRIMARY KEY (operation_id, seq)
);

-- One operation per cluster at a time; a row here survives a console restart, so an interrupted operation
-- keeps its cluster locked until it is resumed or rolled back.
CREATE TABLE cluster_locks (
    cluster_id    uuid    NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    operation_id  uuid    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    acquired_at   timestamptz NOT NULL
);
