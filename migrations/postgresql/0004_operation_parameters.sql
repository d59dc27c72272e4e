-- The operator's request (JSON) an operation was started with: a resume after a restart runs it with the same choices.
ALTER TABLE operations ADD COLUMN parameters_json TEXT NULL;
