-- GET /v1/interviews: scheduled interviews in time order (interview_at, application_id), keyset-paged; a
-- state's (one range per state, merged, as the queue's) or every state's. One interviewer's use
-- cases_booked (interviewer, interview_at); a day is a range of interview_at in each of them.
CREATE INDEX cases_scheduled ON cases (state, interview_at, application_id) WHERE status = 'scheduled';
CREATE INDEX cases_scheduled_all ON cases (interview_at, application_id) WHERE status = 'scheduled';
