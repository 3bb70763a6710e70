-- Who holds a reply's `sending` lease: a fresh random token per lease. Every transition out of
-- `sending` (sent, retry, failed, uncertain) and every renewal is checked against it, so a node
-- whose lease ran out and was taken over can no longer overwrite the row.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
