-- Which node filed a message and which node took an answer for sending: with short leases
-- and failover, this is how one sees that a node stopped acting once it lost its lease.
ALTER TABLE messages ADD COLUMN filed_by TEXT;
ALTER TABLE outbox ADD COLUMN sending_node TEXT;
