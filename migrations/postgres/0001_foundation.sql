-- Foundation: shops, contacts, mailboxes, IMAP checkpoints, tickets, messages, attachments, jobs.
-- Times are Unix milliseconds (UTC); flags are 0/1 integers so the SQL stays portable.

CREATE TABLE shops (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    retention_months BIGINT,
    next_ticket_number BIGINT NOT NULL DEFAULT 1001,
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    customer_service BIGINT NOT NULL DEFAULT 1,
    UNIQUE (shop_id, name)
);

CREATE TABLE mailboxes (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    imap_host TEXT NOT NULL,
    imap_port BIGINT NOT NULL,
    imap_security TEXT NOT NULL,
    accept_invalid_certs BIGINT NOT NULL DEFAULT 0,
    username TEXT NOT NULL,
    password_sealed BYTEA NOT NULL,
    folders TEXT NOT NULL,
    delete_after_import BIGINT NOT NULL DEFAULT 0,
    mark_as_read BIGINT NOT NULL DEFAULT 0,
    smtp_host TEXT NOT NULL,
    smtp_port BIGINT NOT NULL,
    smtp_security TEXT NOT NULL,
    contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_sync_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (shop_id, email)
);

CREATE TABLE imap_checkpoints (
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, folder)
);

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    customer_email TEXT NOT NULL,
    customer_name TEXT,
    subject TEXT NOT NULL,
    normalized_subject TEXT NOT NULL,
    language TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    assignee TEXT,
    message_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    UNIQUE (shop_id, number)
);
CREATE INDEX tickets_by_customer_subject ON tickets (shop_id, customer_email, normalized_subject, last_message_at);
CREATE INDEX tickets_by_update ON tickets (shop_id, updated_at);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    mailbox_id BIGINT REFERENCES mailboxes(id) ON DELETE SET NULL,
    dedup_key TEXT NOT NULL,
    message_id TEXT,
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL,
    from_email TEXT NOT NULL,
    from_name TEXT,
    to_addrs TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    date_ms BIGINT,
    received_at BIGINT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    new_text TEXT NOT NULL,
    parse_error TEXT,
    raw BYTEA NOT NULL,
    UNIQUE (shop_id, dedup_key)
);
CREATE INDEX messages_by_message_id ON messages (shop_id, message_id);
CREATE INDEX messages_by_ticket ON messages (ticket_id, received_at);

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    message_row_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    filename TEXT,
    content_type TEXT NOT NULL,
    content_id TEXT,
    inline BIGINT NOT NULL DEFAULT 0,
    size BIGINT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (message_row_id);
CREATE INDEX attachments_by_blob ON attachments (blob_hash);

-- Search entries live in the row itself, so deleting the row removes them.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(new_text, ''))
) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    shop_id BIGINT REFERENCES shops(id) ON DELETE CASCADE,
    payload TEXT NOT NULL DEFAULT '{}',
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    -- Jobs that must exist at most once (a shop's retention purge) carry a key; others leave it NULL.
    unique_key TEXT,
    UNIQUE (kind, unique_key)
);
CREATE INDEX jobs_due ON jobs (run_at);
