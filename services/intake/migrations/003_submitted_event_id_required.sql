-- Every application is inserted with its application.submitted event's id (a single post and a
-- bulk import alike), and erasure finds that event by it alone.
ALTER TABLE applications ALTER COLUMN submitted_event_id SET NOT NULL;
