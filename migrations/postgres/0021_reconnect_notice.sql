-- Whether the shop's admins were told that an OAuth mailbox needs reconnecting: NULL (nothing
-- to tell), `due` (it broke, the notice is still to send), `sending` (a node took it) or
-- `sent`. Reconnecting the mailbox sets it back to NULL, so a later break is told again.
ALTER TABLE mailboxes ADD COLUMN reconnect_notice TEXT;
