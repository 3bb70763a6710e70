-- The customer panel finds a customer's tickets (and their messages) by address, whatever its
-- case: without this index it read every ticket of the shop.
CREATE INDEX tickets_by_customer_address ON tickets (shop_id, LOWER(customer_email));
