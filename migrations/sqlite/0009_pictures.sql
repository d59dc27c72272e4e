-- One prober per cluster (#17 item 3); times in Unix milliseconds. The instance holding a cluster's lease probes it
-- and writes its latest picture here (JSON); the other instances serve that picture on their pages and /metrics.
CREATE TABLE cluster_pictures (
    cluster_id       TEXT    NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    holder_instance  TEXT    NOT NULL,
    holder_name      TEXT    NOT NULL,
    observed_at      INTEGER NOT NULL,
    picture          TEXT    NOT NULL
);
