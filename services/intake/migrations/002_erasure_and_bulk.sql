-- The application.submitted event of each application, so erasure can scrub that outbox row
-- by its (unique, indexed) event_id. NULL for rows older than this migration: erasure then
-- finds their event by key.
ALTER TABLE applications ADD COLUMN submitted_event_id uuid;
