-- Foundation: shops, contacts, mailboxes, IMAP checkpoints, tickets, messages, attachments, jobs.
-- Times are Unix milliseconds (UTC); flags are 0/1 integers so the SQL stays portable.

CREATE TABLE shops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    retention_months INTEGER,
    next_ticket_number INTEGER NOT NULL DEFAULT 1001,
    created_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    customer_service INTEGER NOT NULL DEFAULT 1,
    UNIQUE (shop_id, name)
);

CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    imap_host TEXT NOT NULL,
    imap_port INTEGER NOT NULL,
    imap_security TEXT NOT NULL,
    accept_invalid_certs INTEGER NOT NULL DEFAULT 0,
    username TEXT NOT NULL,
    password_sealed BLOB NOT NULL,
    folders TEXT NOT NULL,
    delete_after_import INTEGER NOT NULL DEFAULT 0,
    mark_as_read INTEGER NOT NULL DEFAULT 0,
    smtp_host TEXT NOT NULL,
    smtp_port INTEGER NOT NULL,
    smtp_security TEXT NOT NULL,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_sync_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (shop_id, email)
);

CREATE TABLE imap_checkpoints (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, folder)
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    customer_email TEXT NOT NULL,
    customer_name TEXT,
    subject TEXT NOT NULL,
    normalized_subject TEXT NOT NULL,
    language TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    assignee TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    UNIQUE (shop_id, number)
);
CREATE INDEX tickets_by_customer_subject ON tickets (shop_id, customer_email, normalized_subject, last_message_at);
CREATE INDEX tickets_by_update ON tickets (shop_id, updated_at);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
    dedup_key TEXT NOT NULL,
    message_id TEXT,
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL,
    from_email TEXT NOT NULL,
    from_name TEXT,
    to_addrs TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    date_ms INTEGER,
    received_at INTEGER NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    new_text TEXT NOT NULL,
    parse_error TEXT,
    raw BLOB NOT NULL,
    UNIQUE (shop_id, dedup_key)
);
CREATE INDEX messages_by_message_id ON messages (shop_id, message_id);
CREATE INDEX messages_by_ticket ON messages (ticket_id, received_at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_row_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    filename TEXT,
    content_type TEXT NOT NULL,
    content_id TEXT,
    inline INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (message_row_id);
CREATE INDEX attachments_by_blob ON attachments (blob_hash);

-- Search entries follow the messages table inside the same transaction.
CREATE VIRTUAL TABLE message_search USING fts5(subject, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, subject, body) VALUES (new.id, new.subject, new.new_text);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = old.id;
END;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    shop_id INTEGER REFERENCES shops(id) ON DELETE CASCADE,
    payload TEXT NOT NULL DEFAULT '{}',
    run_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    -- Jobs that must exist at most once (a shop's retention purge) carry a key; others leave it NULL.
    unique_key TEXT,
    UNIQUE (kind, unique_key)
);
CREATE INDEX jobs_due ON jobs (run_at);
