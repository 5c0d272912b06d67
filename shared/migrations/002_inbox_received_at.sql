-- Inbox rows are pruned by age (shared.inbox.prune): a BRIN index finds the old ones cheaply,
-- since rows arrive in received_at order, and costs next to nothing on each insert.
CREATE INDEX inbox_received_at ON inbox USING brin (received_at);
