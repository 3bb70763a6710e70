-- The ticket list: what it sorts, filters and counts on is kept on the ticket row, by triggers
-- on messages so that every writer (filing, sending, the contact form) keeps it right; the
-- customer's name and address become searchable; indexes serve each sort and the common
-- filters without reading every ticket.

-- Received time of the customer's oldest message not followed by any message of ours (NULL:
-- answered, or nothing from the customer).
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
-- Received time of the customer's latest message: after `seen_at`, the ticket is unread.
ALTER TABLE tickets ADD COLUMN last_in_at INTEGER;

UPDATE tickets SET last_in_at = (
    SELECT MAX(m.received_at) FROM messages m WHERE m.ticket_id = tickets.id AND m.direction = 'in'
);
UPDATE tickets SET waiting_since = (
    SELECT MIN(m.received_at) FROM messages m WHERE m.ticket_id = tickets.id AND m.direction = 'in'
    AND m.received_at > COALESCE(
        (SELECT MAX(o.received_at) FROM messages o WHERE o.ticket_id = tickets.id AND o.direction = 'out'), -1)
);

CREATE TRIGGER messages_list_insert_in AFTER INSERT ON messages WHEN new.direction = 'in' BEGIN
    UPDATE tickets SET waiting_since = COALESCE(waiting_since, new.received_at),
        last_in_at = MAX(COALESCE(last_in_at, new.received_at), new.received_at)
    WHERE id = new.ticket_id;
END;
CREATE TRIGGER messages_list_insert_out AFTER INSERT ON messages WHEN new.direction = 'out' BEGIN
    UPDATE tickets SET waiting_since = NULL WHERE id = new.ticket_id AND waiting_since IS NOT NULL;
END;
CREATE TRIGGER messages_list_delete AFTER DELETE ON messages BEGIN
    UPDATE tickets SET
        last_in_at = (SELECT MAX(m.received_at) FROM messages m WHERE m.ticket_id = old.ticket_id AND m.direction = 'in'),
        waiting_since = (
            SELECT MIN(m.received_at) FROM messages m WHERE m.ticket_id = old.ticket_id AND m.direction = 'in'
            AND m.received_at > COALESCE(
                (SELECT MAX(o.received_at) FROM messages o WHERE o.ticket_id = old.ticket_id AND o.direction = 'out'), -1))
    WHERE id = old.ticket_id;
END;

-- The customer of each ticket, searchable like the messages (rowid = tickets.id).
CREATE VIRTUAL TABLE customer_search USING fts5(name, email, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO customer_search (rowid, name, email) SELECT id, COALESCE(customer_name, ''), customer_email FROM tickets;
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO customer_search (rowid, name, email) VALUES (new.id, COALESCE(new.customer_name, ''), new.customer_email);
END;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF customer_name, customer_email ON tickets BEGIN
    UPDATE customer_search SET name = COALESCE(new.customer_name, ''), email = new.customer_email WHERE rowid = new.id;
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM customer_search WHERE rowid = old.id;
END;

-- One index per sort, and per common filter in the default sort: a page reads about as many
-- index entries as it shows. The waiting sort puts answered tickets last.
CREATE INDEX tickets_list_recent ON tickets (shop_id, last_message_at, number);
CREATE INDEX tickets_list_status ON tickets (shop_id, status, last_message_at, number);
CREATE INDEX tickets_list_assignee ON tickets (shop_id, assignee_id, last_message_at, number);
CREATE INDEX tickets_list_contact ON tickets (shop_id, contact_id, last_message_at, number);
CREATE INDEX tickets_list_waiting ON tickets (shop_id, COALESCE(waiting_since, 9223372036854775807), number);
CREATE INDEX tickets_list_status_waiting ON tickets (shop_id, status, COALESCE(waiting_since, 9223372036854775807), number);
-- Only unread tickets are in it, so counting them per contact reads nothing else.
CREATE INDEX tickets_unread ON tickets (shop_id, contact_id) WHERE last_in_at > COALESCE(seen_at, 0);
