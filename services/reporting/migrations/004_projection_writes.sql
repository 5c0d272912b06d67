-- Nothing reads applications by state or district (the counter tables answer those questions), so
-- the index only cost every projection write; without it, and with room left on each page, a
-- projection's updates (a few per application) stay on its page (HOT) and touch no index at all.
DROP INDEX applications_state;
ALTER TABLE applications SET (fillfactor = 70);
