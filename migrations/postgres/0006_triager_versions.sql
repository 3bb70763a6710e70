-- What a node's cached triager of a shop is checked against, one cheap read per load: the
-- first moves with every change of the shop's disabled intents or keyword rules, the second
-- with every model saved (a training time alone can repeat).
ALTER TABLE shops ADD COLUMN intent_settings_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shop_models ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
