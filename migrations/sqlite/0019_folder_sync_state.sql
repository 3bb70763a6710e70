-- Each folder's sync state, for `guichet status`, `/metrics` and the admin status page: when
-- its last sync pass ended without error, and how many messages the server held that the
-- last pass had still to file (0 once filed).
ALTER TABLE imap_checkpoints ADD COLUMN synced_at BIGINT;
ALTER TABLE imap_checkpoints ADD COLUMN unfiled BIGINT NOT NULL DEFAULT 0;
