-- The application's client networks (issue 13, item 5), asked by the setup wizard and kept with the cluster: one
-- CIDR per line, canonical form (validated before it is stored); empty = none given.
ALTER TABLE clusters ADD COLUMN client_cidrs TEXT NOT NULL DEFAULT '';
