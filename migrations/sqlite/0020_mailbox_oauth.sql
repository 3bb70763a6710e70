-- Mailboxes that sign in with OAuth2 (Gmail, Microsoft 365): `password`, `google` or
-- `microsoft`. For the last two, `password_sealed` holds the provider's refresh token, sealed
-- under its own purpose.
ALTER TABLE mailboxes ADD COLUMN auth TEXT NOT NULL DEFAULT 'password';
