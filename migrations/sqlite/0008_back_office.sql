-- The back office: employees, their browser sessions and API tokens, sign-in throttling, the
-- ticket timeline (status changes, assignments, transfers, notes...), who is on a ticket now,
-- and the ticket's assignee and last reading by an employee.

-- An employee belongs to one shop; the address is unique across the install so signing in
-- needs nothing else.
CREATE TABLE employees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    lang TEXT NOT NULL,
    -- Argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX employees_by_shop ON employees (shop_id);

-- The cookie carries a random token; only its SHA-256 is kept, so a copy of the database
-- opens no session.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_by_employee ON web_sessions (employee_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);

-- Failed sign-ins, keyed `ip:<address>` or `account:<email>`, shared by every node.
CREATE TABLE sign_in_failures (
    subject TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_subject ON sign_in_failures (subject, at);

-- The ticket's timeline besides its messages; `detail` is JSON whose shape depends on `kind`.
CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    employee_id INTEGER REFERENCES employees(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at INTEGER NOT NULL
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, at);
CREATE INDEX ticket_events_by_shop ON ticket_events (shop_id, kind, at);

-- Who is viewing or replying to a ticket right now: a short lease renewed by the open page.
CREATE TABLE ticket_presence (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    activity TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, employee_id)
);

ALTER TABLE tickets ADD COLUMN assignee_id INTEGER REFERENCES employees(id) ON DELETE SET NULL;
-- When an employee last opened the ticket: later customer mail makes it unread.
ALTER TABLE tickets ADD COLUMN seen_at INTEGER;
