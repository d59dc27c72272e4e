-- Health history (issue 7). Times are Unix milliseconds (INTEGER), flags 0/1. No foreign key to clusters: the
-- history of a removed cluster simply ages out with retention, and writes every 15 s need no lookups.

-- Raw samples, one row per node per snapshot (kept 48 h by default). Clustered on the primary key (WITHOUT ROWID):
-- a graph reads one cluster's time range in key order.
CREATE TABLE health_sample (
    cluster_id          TEXT    NOT NULL,
    at_ms               INTEGER NOT NULL,
    node_name           TEXT    NOT NULL,
    reachable           INTEGER NOT NULL,
    pg_up               INTEGER NOT NULL,
    role                INTEGER NOT NULL,
    timeline            INTEGER NULL,
    lag_bytes           INTEGER NULL,
    lag_seconds         REAL    NULL,
    connections         INTEGER NULL,
    max_connections     INTEGER NULL,
    holds_write_vip     INTEGER NOT NULL,
    holds_read_vip      INTEGER NOT NULL,
    vrrp_state          TEXT    NULL,
    slot_retained_bytes INTEGER NULL,
    PRIMARY KEY (cluster_id, at_ms, node_name)
) WITHOUT ROWID;
CREATE INDEX ix_health_sample_at ON health_sample (at_ms);

-- Rollups: resolution_s 60 (kept 30 days) and 3600 (kept a year). Averages are over the *_n samples that had a value.
CREATE TABLE health_rollup (
    cluster_id       TEXT    NOT NULL,
    resolution_s     INTEGER NOT NULL,
    bucket_ms        INTEGER NOT NULL,
    node_name        TEXT    NOT NULL,
    samples          INTEGER NOT NULL,
    up_samples       INTEGER NOT NULL,
    primary_samples  INTEGER NOT NULL,
    lag_bytes_n      INTEGER NOT NULL,
    lag_bytes_avg    REAL    NULL,
    lag_bytes_max    INTEGER NULL,
    lag_seconds_n    INTEGER NOT NULL,
    lag_seconds_avg  REAL    NULL,
    lag_seconds_max  REAL    NULL,
    connections_n    INTEGER NOT NULL,
    connections_avg  REAL    NULL,
    connections_max  INTEGER NULL,
    PRIMARY KEY (cluster_id, resolution_s, bucket_ms, node_name)
) WITHOUT ROWID;
CREATE INDEX ix_health_rollup_res_bucket ON health_rollup (resolution_s, bucket_ms);

-- The one event timeline: role changes, VIP moves, replication, alarms, operations.
CREATE TABLE health_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id    TEXT    NOT NULL,
    at_ms         INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    node_name     TEXT    NULL,
    severity      INTEGER NOT NULL,
    message       TEXT    NOT NULL,
    operation_id  TEXT    NULL,
    alarm_key     TEXT    NULL
);
CREATE INDEX ix_health_event_cluster_at ON health_event (cluster_id, at_ms);
CREATE INDEX ix_health_event_at ON health_event (at_ms);
-- One "started" and one "finished" event per operation, however often the journal is read.
CREATE UNIQUE INDEX ux_health_event_operation ON health_event (cluster_id, operation_id, kind) WHERE operation_id IS NOT NULL;
