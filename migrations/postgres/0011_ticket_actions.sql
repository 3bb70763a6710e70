-- Ticket actions: the attachments an employee sends with a reply, and each shop's predefined
-- message (the text an employee's reply starts from), per language.

-- Kept with the outbox row until it is sent; the bytes are in the blob store.
CREATE TABLE outbox_attachments (
    id BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL
);
CREATE INDEX outbox_attachments_by_reply ON outbox_attachments (outbox_id);
CREATE INDEX outbox_attachments_by_blob ON outbox_attachments (blob_hash);

-- A template source (the reply templates' variables); no row: the catalogue's default.
CREATE TABLE predefined_messages (
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, lang)
);
