-- The application.submitted event of each application, so erasure can scrub that outbox row
-- by its (unique, indexed) event_id.
ALTER TABLE applications ADD COLUMN submitted_event_id uuid;
