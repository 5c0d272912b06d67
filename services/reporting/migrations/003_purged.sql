-- An application erased by the retention purge (application.erased with reason "retention"): its phone
-- hash goes as on request, but it is not counted as erased on request (services/reporting/README.md).
ALTER TABLE applications ADD COLUMN purged boolean NOT NULL DEFAULT false;
