-- Automatic answers: a shop's reply settings and plan, its edited templates, its orders, the
-- outbox (at-most-once sending), and each ticket's case file of information to collect.

ALTER TABLE shops ADD COLUMN auto_answers TEXT NOT NULL DEFAULT 'off';
-- Messages filed before automatic answers were turned on are never answered by themselves.
ALTER TABLE shops ADD COLUMN auto_answers_since INTEGER;
ALTER TABLE shops ADD COLUMN reply_delay_ms INTEGER NOT NULL DEFAULT 10800000;
ALTER TABLE shops ADD COLUMN reply_spread_ms INTEGER NOT NULL DEFAULT 1200000;
ALTER TABLE shops ADD COLUMN business_hours TEXT;
ALTER TABLE shops ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Paris';
ALTER TABLE shops ADD COLUMN threshold REAL NOT NULL DEFAULT 0.9;
ALTER TABLE shops ADD COLUMN plan TEXT NOT NULL DEFAULT 'trial';
ALTER TABLE shops ADD COLUMN plan_quota INTEGER;
ALTER TABLE shops ADD COLUMN trial_until INTEGER;
-- Month (YYYY-MM) whose spent quota the shop was told about, so it is told once.
ALTER TABLE shops ADD COLUMN quota_notice_month TEXT;
ALTER TABLE shops ADD COLUMN display_name TEXT;
ALTER TABLE shops ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE shops ADD COLUMN logo_url TEXT;
ALTER TABLE shops ADD COLUMN brand_color TEXT;
ALTER TABLE shops ADD COLUMN footer TEXT NOT NULL DEFAULT '';

-- Per-intent confidence threshold (NULL: the shop's).
ALTER TABLE shop_intents ADD COLUMN threshold REAL;

-- Auto-Submitted, Precedence, List-Id, empty Return-Path (JSON; NULL when none): the signs of a
-- machine-sent message, which is never answered.
ALTER TABLE messages ADD COLUMN automation TEXT;
-- What the automatic answering decided for a customer message, and why (JSON), once.
ALTER TABLE messages ADD COLUMN reply_decision TEXT;
-- Information a ticket waits for, and what the customer brought (JSON).
ALTER TABLE tickets ADD COLUMN case_file TEXT;

CREATE TABLE reply_templates (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Needs, one per line.
    needs TEXT NOT NULL DEFAULT '',
    when_complete TEXT NOT NULL DEFAULT 'hand_over',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, intent, lang)
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    status TEXT NOT NULL,
    ordered_at INTEGER,
    -- JSON array of {"name", "quantity"}.
    items TEXT NOT NULL DEFAULT '[]',
    carrier TEXT,
    tracking_number TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (shop_id, reference)
);
CREATE INDEX orders_by_customer ON orders (shop_id, customer_email);

-- One row per answer Guichet sends or would send. The state moves scheduled -> sending
-- (committed before the SMTP transaction) -> sent; a refusal before DATA goes back to
-- scheduled with a later due time; anything else after `sending` becomes uncertain, never resent
-- by itself.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    -- NULL for a notice to the shop itself.
    ticket_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
    reply_to_message INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    intent TEXT,
    lang TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    to_email TEXT NOT NULL,
    to_name TEXT,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
-- A customer message gets at most one automatic answer (employees may write as often as needed).
CREATE UNIQUE INDEX outbox_one_automatic_answer ON outbox (reply_to_message) WHERE kind IN ('answer', 'ask');
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_by_ticket ON outbox (ticket_id);
CREATE INDEX outbox_by_shop_sent ON outbox (shop_id, kind, sent_at);
