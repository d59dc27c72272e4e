-- Several console instances on one store (#17 item 3); times in Unix milliseconds.
-- A running operation names the instance running it and that instance renews its heartbeat every few seconds; an
-- operation whose heartbeat is older than the bound (15 s by default) is marked interrupted by any instance.
ALTER TABLE operations ADD COLUMN owner_instance TEXT NULL;
ALTER TABLE operations ADD COLUMN owner_name TEXT NULL;
ALTER TABLE operations ADD COLUMN heartbeat_at INTEGER NULL;

-- One decider per cluster: the instance holding a cluster's lease records its events and snapshots, sends its alerts
-- and may start its automatic failover. The holder renews it; anyone may take it once expires_at has passed.
CREATE TABLE cluster_leases (
    cluster_id       TEXT    NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    holder_instance  TEXT    NOT NULL,
    holder_name      TEXT    NOT NULL,
    acquired_at      INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
