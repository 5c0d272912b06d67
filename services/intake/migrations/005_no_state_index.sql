-- Intake reads an application by its id or its phone hash, never by state (reporting's counter tables
-- answer every question by state), so the index only cost every application's insert.
DROP INDEX applications_state;
