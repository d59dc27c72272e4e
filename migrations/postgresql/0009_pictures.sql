-- One prober per cluster (#17 item 3): the instance holding a cluster's lease probes it and writes its latest picture
-- here (JSON, with when it was observed); the other instances serve that picture on their pages and /metrics.
CREATE TABLE cluster_pictures (
    cluster_id       uuid        NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    holder_instance  uuid        NOT NULL,
    holder_name      text        NOT NULL,
    observed_at      timestamptz NOT NULL,
    picture          text        NOT NULL
);
