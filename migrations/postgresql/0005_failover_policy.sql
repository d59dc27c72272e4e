-- What a cluster does when its primary is lost (issue 12). No row = the default: automatic off, synchronous off.
CREATE TABLE failover_policies (
    cluster_id     uuid        NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    automatic      boolean     NOT NULL,
    synchronous    boolean     NOT NULL,
    after_seconds  integer     NOT NULL CHECK (after_seconds BETWEEN 1 AND 600),
    updated_at     timestamptz NOT NULL,
    updated_by     text        NOT NULL
);
