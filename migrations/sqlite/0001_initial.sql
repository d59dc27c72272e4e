-- PgHaConsole store, SQLite dialect (the PostgreSQL twin is migrations/postgresql/0001_initial.sql).
-- Conventions, so that the same repository code serves both dialects:
--   ids          TEXT holding a lowercase uuid ("d" format)          (PostgreSQL: uuid)
--   timestamps   INTEGER milliseconds since the Unix epoch, UTC      (PostgreSQL: timestamptz)
--   booleans     INTEGER 0/1                                         (PostgreSQL: boolean)
--   enums        TEXT holding the .NET enum member name (e.g. 'Haproxy')
-- Unix milliseconds rather than ISO text: compact, cheap range scans for the history tables that come later,
-- and the repositories truncate every time to milliseconds so both dialects round-trip the same value.

CREATE TABLE clusters (
    id                   TEXT    NOT NULL PRIMARY KEY,
    name                 TEXT    NOT NULL,
    -- upper-invariant name: uniqueness is case-insensitive ("Prod" and "prod" would be confused when typed to confirm).
    name_key             TEXT    NOT NULL,
    write_vip            TEXT    NOT NULL,
    read_vip             TEXT    NOT NULL,
    vip_prefix_length    INTEGER NOT NULL,
    balancer             TEXT    NOT NULL,
    vrrp_interface       TEXT    NOT NULL,
    vrrp_router_id       INTEGER NOT NULL,
    vrrp_node1_priority  INTEGER NOT NULL,
    vrrp_node2_priority  INTEGER NOT NULL,
    -- advert_int in milliseconds: exact in both dialects (VRRPv3 allows fractions of a second).
    vrrp_advert_int_ms   INTEGER NOT NULL,
    pg_major_version     INTEGER NOT NULL,
    pg_bin_dir           TEXT    NOT NULL,
    pg_data_dir          TEXT    NOT NULL,
    pg_port              INTEGER NOT NULL,
    pg_os_user           TEXT    NOT NULL,
    pg_service_control   TEXT    NOT NULL,
    pg_systemd_unit      TEXT    NULL,
    pg_replication_user  TEXT    NOT NULL,
    pg_monitor_user      TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- optimistic concurrency: incremented by every update.
    row_version          INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT ux_clusters_name_key UNIQUE (name_key)
);

CREATE TABLE nodes (
    id                       TEXT    NOT NULL PRIMARY KEY,
    cluster_id               TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    -- 1 = the node that is primary when the cluster is first set up. Not unique per cluster on purpose:
    -- an update that swaps the two nodes would violate it between its two row updates.
    ordinal                  INTEGER NOT NULL CHECK (ordinal IN (1, 2)),
    name                     TEXT    NOT NULL,
    address                  TEXT    NOT NULL,
    ssh_port                 INTEGER NOT NULL,
    ssh_user                 TEXT    NOT NULL,
    auth_kind                TEXT    NOT NULL,
    privilege                TEXT    NOT NULL,
    host_key_sha256          TEXT    NULL,
    pending_host_key_sha256  TEXT    NULL
);
CREATE INDEX ix_nodes_cluster ON nodes (cluster_id);

-- Only Data Protection ciphertext lives here, never a secret in clear.
CREATE TABLE secrets (
    cluster_id       TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    -- set for a node's secret, so removing the node removes its secrets.
    node_id          TEXT    NULL REFERENCES nodes (id) ON DELETE CASCADE,
    owner_id         TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    protected_value  TEXT    NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (owner_id, kind),
    CHECK (owner_id = COALESCE(node_id, cluster_id))
);
CREATE INDEX ix_secrets_cluster ON secrets (cluster_id);
CREATE INDEX ix_secrets_node ON secrets (node_id);

CREATE TABLE users (
    id                    TEXT    NOT NULL PRIMARY KEY,
    user_name             TEXT    NOT NULL,
    normalized_user_name  TEXT    NOT NULL,
    password_hash         TEXT    NULL,
    security_stamp        TEXT    NULL,
    role                  TEXT    NOT NULL CHECK (role IN ('Viewer', 'Operator', 'Admin')),
    created_at            INTEGER NOT NULL,
    disabled              INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT ux_users_normalized_user_name UNIQUE (normalized_user_name)
);

CREATE TABLE api_tokens (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    -- SHA-256 of the token, lowercase hex; the token itself is shown once and never stored.
    token_hash    TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('Viewer', 'Operator', 'Admin')),
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NULL,
    revoked_at    INTEGER NULL,
    CONSTRAINT ux_api_tokens_token_hash UNIQUE (token_hash)
);

-- No foreign key to clusters: the audit trail outlives the clusters it mentions.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    cluster_id  TEXT    NULL,
    target      TEXT    NULL,
    result      TEXT    NOT NULL,
    detail      TEXT    NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_cluster_at ON audit_log (cluster_id, at);

-- The operations journal (setup, switchover, rejoin, rebuild): the source of truth after a restart.
CREATE TABLE operations (
    id            TEXT    NOT NULL PRIMARY KEY,
    cluster_id    TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    -- ordinal of the step running (or last run): "interrupted at step N".
    current_step  INTEGER NULL,
    requested_by  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER NULL,
    finished_at   INTEGER NULL,
    error         TEXT    NULL,
    report_json   TEXT    NULL
);
CREATE INDEX ix_operations_cluster_created ON operations (cluster_id, created_at);
CREATE INDEX ix_operations_status ON operations (status);

CREATE TABLE operation_steps (
    operation_id  TEXT    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    started_at    INTEGER NULL,
    finished_at   INTEGER NULL,
    message       TEXT    NULL,
    PRIMARY KEY (operation_id, ordinal)
);

CREATE TABLE operation_log (
    operation_id  TEXT    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    -- ordinal of the step that wrote the line; NULL for lines outside any step.
    step          INTEGER NULL,
    -- 'stdout', 'stderr' or 'info'.
    stream        TEXT    NOT NULL,
    line          TEXT    NOT NULL,
    PRIMARY KEY (operation_id, seq)
);

-- One operation per cluster at a time; a row here survives a console restart, so an interrupted operation
-- keeps its cluster locked until it is resumed or rolled back.
CREATE TABLE cluster_locks (
    cluster_id    TEXT    NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    operation_id  TEXT    NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    acquired_at   INTEGER NOT NULL
);
