-- Hardening (#15). Lockout (ASP.NET Core Identity's lockout store): failed sign-ins in a row, and until when the
-- user is locked out.
ALTER TABLE users ADD COLUMN access_failed_count integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lockout_end timestamptz NULL;

-- API tokens may expire; NULL = never.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz NULL;

-- The first administrator is claimed once per store: one row at most (id = 1), inserted by the instance that
-- creates the first admin. Several consoles sharing a store therefore cannot both create one.
CREATE TABLE first_admin_claim (
    id          smallint    NOT NULL PRIMARY KEY CHECK (id = 1),
    claimed_by  text        NOT NULL,
    claimed_at  timestamptz NOT NULL
);
-- A store that has users already is claimed.
INSERT INTO first_admin_claim (id, claimed_by, claimed_at)
SELECT 1, 'migration 0006', now() WHERE EXISTS (SELECT 1 FROM users);
