-- Health history (issue 7). Times are Unix milliseconds (bigint) so both dialects share the queries and the
-- bucket arithmetic; flags are smallint 0/1. No foreign key to clusters: the history of a removed cluster ages out
-- with retention, and writes every 15 s need no lookups.

-- Raw samples, one row per node per snapshot (kept 48 h by default).
CREATE TABLE health_sample (
    cluster_id          uuid     NOT NULL,
    at_ms               bigint   NOT NULL,
    node_name           text     NOT NULL,
    reachable           smallint NOT NULL,
    pg_up               smallint NOT NULL,
    role                smallint NOT NULL,
    timeline            integer  NULL,
    lag_bytes           bigint   NULL,
    lag_seconds         double precision NULL,
    connections         integer  NULL,
    max_connections     integer  NULL,
    holds_write_vip     smallint NOT NULL,
    holds_read_vip      smallint NOT NULL,
    vrrp_state          text     NULL,
    slot_retained_bytes bigint   NULL,
    PRIMARY KEY (cluster_id, at_ms, node_name)
);
CREATE INDEX ix_health_sample_at ON health_sample (at_ms);

-- Rollups: resolution_s 60 (kept 30 days) and 3600 (kept a year). Averages are over the *_n samples that had a value.
CREATE TABLE health_rollup (
    cluster_id       uuid     NOT NULL,
    resolution_s     integer  NOT NULL,
    bucket_ms        bigint   NOT NULL,
    node_name        text     NOT NULL,
    samples          integer  NOT NULL,
    up_samples       integer  NOT NULL,
    primary_samples  integer  NOT NULL,
    lag_bytes_n      integer  NOT NULL,
    lag_bytes_avg    double precision NULL,
    lag_bytes_max    bigint   NULL,
    lag_seconds_n    integer  NOT NULL,
    lag_seconds_avg  double precision NULL,
    lag_seconds_max  double precision NULL,
    connections_n    integer  NOT NULL,
    connections_avg  double precision NULL,
    connections_max  integer  NULL,
    PRIMARY KEY (cluster_id, resolution_s, bucket_ms, node_name)
);
CREATE INDEX ix_health_rollup_res_bucket ON health_rollup (resolution_s, bucket_ms);

-- The one event timeline: role changes, VIP moves, replication, alarms, operations.
CREATE TABLE health_event (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id    uuid     NOT NULL,
    at_ms         bigint   NOT NULL,
    kind          text     NOT NULL,
    node_name     text     NULL,
    severity      smallint NOT NULL,
    message       text     NOT NULL,
    operation_id  uuid     NULL,
    alarm_key     text     NULL
);
CREATE INDEX ix_health_event_cluster_at ON health_event (cluster_id, at_ms);
CREATE INDEX ix_health_event_at ON health_event (at_ms);
-- One "started" and one "finished" event per operation, however often the journal is read.
CREATE UNIQUE INDEX ux_health_event_operation ON health_event (cluster_id, operation_id, kind) WHERE operation_id IS NOT NULL;
