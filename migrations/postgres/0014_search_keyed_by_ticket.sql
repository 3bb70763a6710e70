-- A search for a common word matched thousands of messages and read each one's row for its
-- ticket. Each ticket now keeps the words of all its messages (`search_words`: the lexemes of
-- their `search` vectors, without positions, so the row stays small), indexed, so the list
-- finds a word's tickets on `tickets` itself and reads them in its own order. Positions stay
-- on the messages: a word that is a phrase of several tokens (an address) is checked there.
ALTER TABLE tickets ADD COLUMN search_words tsvector NOT NULL DEFAULT '';
UPDATE tickets t SET search_words = array_to_tsvector(ARRAY(
    SELECT DISTINCT w FROM messages m, unnest(tsvector_to_array(m.search)) w WHERE m.ticket_id = t.id));
CREATE INDEX tickets_search_words ON tickets USING GIN (search_words);

-- The list's columns and the ticket's words follow its new messages in one update per
-- INSERT statement (a batch being filed, or loaded), not one per message: the statement's rows
-- are summed up per ticket. Rows come in id order, which is the order the per-row trigger saw:
-- after the last message of ours, the ticket waits since the first customer message after it.
CREATE FUNCTION tickets_follow_new_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH last_out AS (
        SELECT ticket_id, MAX(id) FILTER (WHERE direction = 'out') AS id FROM added GROUP BY ticket_id
    ), summary AS (
        SELECT a.ticket_id, o.id AS last_out,
            MAX(a.received_at) FILTER (WHERE a.direction = 'in') AS last_in,
            (array_agg(a.received_at ORDER BY a.id)
                FILTER (WHERE a.direction = 'in' AND (o.id IS NULL OR a.id > o.id)))[1] AS waiting_since
        FROM added a JOIN last_out o ON o.ticket_id = a.ticket_id GROUP BY a.ticket_id, o.id
    ), words AS (
        SELECT a.ticket_id, array_to_tsvector(array_agg(DISTINCT w)) AS words
        FROM added a, unnest(tsvector_to_array(a.search)) w GROUP BY a.ticket_id
    )
    UPDATE tickets t SET
        waiting_since = CASE WHEN s.last_out IS NULL THEN COALESCE(t.waiting_since, s.waiting_since)
            ELSE s.waiting_since END,
        last_in_at = GREATEST(t.last_in_at, s.last_in),
        search_words = t.search_words || COALESCE(w.words, '')
    FROM summary s LEFT JOIN words w ON w.ticket_id = s.ticket_id
    WHERE t.id = s.ticket_id;
    RETURN NULL;
END;
$$;

-- A deleted message: the ticket's columns and words are read again from the messages left.
CREATE OR REPLACE FUNCTION tickets_follow_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET
        last_in_at = (SELECT MAX(m.received_at) FROM messages m WHERE m.ticket_id = OLD.ticket_id AND m.direction = 'in'),
        waiting_since = (
            SELECT MIN(m.received_at) FROM messages m WHERE m.ticket_id = OLD.ticket_id AND m.direction = 'in'
            AND m.received_at > COALESCE(
                (SELECT MAX(o.received_at) FROM messages o WHERE o.ticket_id = OLD.ticket_id AND o.direction = 'out'), -1)),
        search_words = array_to_tsvector(ARRAY(
            SELECT DISTINCT w FROM messages m, unnest(tsvector_to_array(m.search)) w WHERE m.ticket_id = OLD.ticket_id))
    WHERE id = OLD.ticket_id;
    RETURN NULL;
END;
$$;

DROP TRIGGER messages_list ON messages;
CREATE TRIGGER messages_list_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_follow_new_messages();
CREATE TRIGGER messages_list_delete AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION tickets_follow_messages();
