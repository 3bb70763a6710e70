-- The ticket list: what it sorts, filters and counts on is kept on the ticket row, by a trigger
-- on messages so that every writer (filing, sending, the contact form) keeps it right; search
-- ignores accents and splits addresses into words like SQLite's tokenizer; the customer's name
-- and address become searchable; indexes serve each sort and the common filters without
-- reading every ticket.

-- Received time of the customer's oldest message not followed by any message of ours (NULL:
-- answered, or nothing from the customer).
ALTER TABLE tickets ADD COLUMN waiting_since BIGINT;
-- Received time of the customer's latest message: after `seen_at`, the ticket is unread.
ALTER TABLE tickets ADD COLUMN last_in_at BIGINT;

UPDATE tickets SET last_in_at = (
    SELECT MAX(m.received_at) FROM messages m WHERE m.ticket_id = tickets.id AND m.direction = 'in'
);
UPDATE tickets SET waiting_since = (
    SELECT MIN(m.received_at) FROM messages m WHERE m.ticket_id = tickets.id AND m.direction = 'in'
    AND m.received_at > COALESCE(
        (SELECT MAX(o.received_at) FROM messages o WHERE o.ticket_id = tickets.id AND o.direction = 'out'), -1)
);

CREATE FUNCTION tickets_follow_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.direction = 'in' THEN
            UPDATE tickets SET waiting_since = COALESCE(waiting_since, NEW.received_at),
                last_in_at = GREATEST(last_in_at, NEW.received_at)
            WHERE id = NEW.ticket_id;
        ELSIF NEW.direction = 'out' THEN
            UPDATE tickets SET waiting_since = NULL WHERE id = NEW.ticket_id AND waiting_since IS NOT NULL;
        END IF;
    ELSE
        UPDATE tickets SET
            last_in_at = (SELECT MAX(m.received_at) FROM messages m WHERE m.ticket_id = OLD.ticket_id AND m.direction = 'in'),
            waiting_since = (
                SELECT MIN(m.received_at) FROM messages m WHERE m.ticket_id = OLD.ticket_id AND m.direction = 'in'
                AND m.received_at > COALESCE(
                    (SELECT MAX(o.received_at) FROM messages o WHERE o.ticket_id = OLD.ticket_id AND o.direction = 'out'), -1))
        WHERE id = OLD.ticket_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER messages_list AFTER INSERT OR DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION tickets_follow_messages();

-- Search text folded before it is split into words: accented Latin letters lose their accents
-- and `@ . / : _` separate words, so `théière` is found by `theiere` and `alice@client.test`
-- by `alice` (src/store/ticket_list.rs folds the searched words with the same two strings).
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', translate(coalesce(subject, '') || ' ' || coalesce(new_text, ''),
        'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĆćČčĎďĐđĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŔŕŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽž@./:_',
        'aaaaaaceeeeiiiinoooooouuuuyaaaaaaceeeeiiiinoooooouuuuyyaaaaccccddddeeeeeeggiiiillnnnnoooorrrrssssssttttuuuuuuyzzzzzz     '))
) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

ALTER TABLE tickets ADD COLUMN customer_search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', translate(coalesce(customer_name, '') || ' ' || customer_email,
        'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĆćČčĎďĐđĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŔŕŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽž@./:_',
        'aaaaaaceeeeiiiinoooooouuuuyaaaaaaceeeeiiiinoooooouuuuyyaaaaccccddddeeeeeeggiiiillnnnnoooorrrrssssssttttuuuuuuyzzzzzz     '))
) STORED;
CREATE INDEX tickets_customer_search ON tickets USING GIN (customer_search);

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
