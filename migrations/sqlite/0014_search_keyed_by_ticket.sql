-- A search for a common word matched thousands of messages and looked each one's ticket up in
-- `messages`. The index now names the ticket in each entry's key, so the matching tickets come
-- from the index alone: rowid = ticket_id * 2^32 + (message id mod 2^32), the ticket being
-- rowid / 2^32. The key stays unique while a ticket's message ids are less than 2^32 apart.
-- Contentless (the text is in `messages`), with deletes, so it no longer holds a second copy
-- of every message.
DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_delete;
DROP TABLE message_search;
CREATE VIRTUAL TABLE message_search USING fts5(subject, body, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO message_search (rowid, subject, body)
    SELECT ticket_id * 4294967296 + id % 4294967296, subject, new_text FROM messages;
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, subject, body)
    VALUES (new.ticket_id * 4294967296 + new.id % 4294967296, new.subject, new.new_text);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = old.ticket_id * 4294967296 + old.id % 4294967296;
END;
