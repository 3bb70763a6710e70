-- Statistics and the public contact form: indexes the period queries of the statistics page
-- run on, each shop's contact-form settings, and the submissions the per-address rate limit
-- counts (shared by every node).

CREATE INDEX tickets_by_creation ON tickets (shop_id, created_at);
CREATE INDEX messages_by_shop_date ON messages (shop_id, direction, (COALESCE(date_ms, received_at)));

-- A shop without a row has the defaults: enabled, attachments allowed up to 10 MB of PDF,
-- JPEG or PNG.
CREATE TABLE contact_forms (
    shop_id BIGINT PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    enabled BIGINT NOT NULL DEFAULT 1,
    attachments BIGINT NOT NULL DEFAULT 1,
    max_attachment_bytes BIGINT NOT NULL DEFAULT 10485760,
    -- MIME types, one per line.
    allowed_types TEXT NOT NULL DEFAULT 'application/pdf
image/jpeg
image/png',
    updated_at BIGINT NOT NULL
);

-- One row per submission that reached the rate limit; `client` is the SHA-256 of the
-- sender's address, so the table keeps no address in clear. Rows older than the window go.
CREATE TABLE contact_form_submissions (
    client TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX contact_form_submissions_by_client ON contact_form_submissions (client, at);
CREATE INDEX contact_form_submissions_by_time ON contact_form_submissions (at);
