-- What a cluster does when its primary is lost (issue 12). No row = the default: automatic off, synchronous off.
CREATE TABLE failover_policies (
    cluster_id     TEXT    NOT NULL PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    automatic      INTEGER NOT NULL CHECK (automatic IN (0, 1)),
    synchronous    INTEGER NOT NULL CHECK (synchronous IN (0, 1)),
    after_seconds  INTEGER NOT NULL CHECK (after_seconds BETWEEN 1 AND 600),
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT    NOT NULL
);
