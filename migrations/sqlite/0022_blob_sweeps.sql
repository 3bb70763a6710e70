-- Blobs a deletion left unreferenced, until the blob store has swept them. A sweep that failed
-- (an object store down or refusing) stays here and is tried again by the next deletion or
-- purge, so deleting a ticket still removes its attachments once the store answers.
CREATE TABLE blob_sweeps (
    blob_hash TEXT PRIMARY KEY,
    last_used_at BIGINT NOT NULL
);
