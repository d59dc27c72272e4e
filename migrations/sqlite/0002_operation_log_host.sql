-- The node a log line came from (NULL for the console itself): a step runs on both hosts and the live log must
-- say which one printed what. Same column in the PostgreSQL twin.
ALTER TABLE operation_log ADD COLUMN host TEXT NULL;
