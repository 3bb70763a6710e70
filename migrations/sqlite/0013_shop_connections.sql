-- Shops connected to their platform (Shopify, PrestaShop, WooCommerce, or CSV files): what was
-- fetched is kept, so a platform that is down still leaves the last known data on the ticket.

-- Orders carry the common model whatever their source; the total in the currency's minor unit.
ALTER TABLE orders ADD COLUMN raw_status TEXT;
ALTER TABLE orders ADD COLUMN partially_shipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN partially_refunded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN total_minor INTEGER;
ALTER TABLE orders ADD COLUMN currency TEXT;
ALTER TABLE orders ADD COLUMN tracking_link TEXT;
ALTER TABLE orders ADD COLUMN platform_id TEXT;
ALTER TABLE orders ADD COLUMN platform_updated_at INTEGER;
-- Where the row came from: csv, shopify, prestashop, woocommerce.
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'csv';
ALTER TABLE orders ADD COLUMN fetched_at INTEGER;
-- Webhooks name orders by the platform's id.
CREATE INDEX orders_by_platform_id ON orders (shop_id, platform_id);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    -- Lower case.
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    customer_since INTEGER,
    orders_count INTEGER,
    total_spent_minor INTEGER,
    currency TEXT,
    platform_id TEXT,
    source TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    UNIQUE (shop_id, email)
);

-- One connection per shop. The settings are JSON as typed; the secrets are sealed with the
-- desk's key (never readable from the database alone). The last check keeps its outcome
-- without any secret.
CREATE TABLE shop_connections (
    shop_id INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    settings TEXT NOT NULL,
    secrets_sealed BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    checked_at INTEGER,
    -- 1: the check passed; 0: it failed.
    check_ok INTEGER,
    -- The report (shop name, warnings) or the error, as JSON.
    check_result TEXT
);

-- When a customer was last asked of the platform: within the cache's lifetime the store answers.
CREATE TABLE customer_fetches (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    -- The last failure (ShopError as JSON), cleared by the next success.
    last_error TEXT,
    -- When the data kept was last fetched successfully.
    succeeded_at INTEGER,
    PRIMARY KEY (shop_id, email)
);

-- A webhook delivered twice is applied once.
CREATE TABLE webhook_deliveries (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, platform, delivery_id)
);

-- Polled platforms (PrestaShop's date_upd): the change time read up to.
CREATE TABLE shop_poll_checkpoints (
    shop_id INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    changed_since INTEGER NOT NULL,
    polled_at INTEGER NOT NULL
);
