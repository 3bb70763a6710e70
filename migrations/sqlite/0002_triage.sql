-- Triage: each message's language, intent, confidence and facts; a shop's intent settings,
-- keyword rules, employees' corrections and its retrained model.

ALTER TABLE messages ADD COLUMN lang TEXT;
ALTER TABLE messages ADD COLUMN intent TEXT;
ALTER TABLE messages ADD COLUMN intent_confidence REAL;
-- The whole triage as JSON (facts with IBANs masked, and the reason for the intent).
ALTER TABLE messages ADD COLUMN triage TEXT;
-- The intent of the customer's latest message.
ALTER TABLE tickets ADD COLUMN intent TEXT;

-- A shop's own intents (custom = 1) and its disabled built-in ones.
CREATE TABLE shop_intents (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    label_fr TEXT NOT NULL DEFAULT '',
    label_en TEXT NOT NULL DEFAULT '',
    custom INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, intent)
);

CREATE TABLE intent_examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX intent_examples_by_shop ON intent_examples (shop_id);

CREATE TABLE intent_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    -- One keyword or phrase per line.
    keywords TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX intent_rules_by_shop ON intent_rules (shop_id);

-- The training text is the message itself, so deleting the message deletes the correction.
CREATE TABLE intent_corrections (
    message_row_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX intent_corrections_by_shop ON intent_corrections (shop_id);

CREATE TABLE shop_models (
    shop_id INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    model BLOB NOT NULL,
    examples INTEGER NOT NULL,
    corrections INTEGER NOT NULL,
    trained_at INTEGER NOT NULL
);
