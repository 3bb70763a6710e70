-- The nodes running `guichet serve` on this database: each writes its heartbeat every few
-- seconds, so a node's state (and whether it is alive) can be shown and its leases judged.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL
);
