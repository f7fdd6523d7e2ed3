-- The inbound fast path writes a message, its ticket, its conversation and its events in one
-- statement. When the ticket changed since it was read, that statement must fail as a whole:
-- this raises a serialization failure (40001), which the store reports as a conflict and the
-- service answers by running the full workflow.
CREATE OR REPLACE FUNCTION helpdesk_stale(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% changed since it was read', what USING ERRCODE = '40001';
END
$$;

-- Every inbound message updates its ticket and conversation. Room on each page lets those
-- updates be heap-only (HOT) when no indexed column changes, which is the common case (the
-- version and document change, not the listing columns): no index entries are written for them.
ALTER TABLE tickets SET (fillfactor = 80);
ALTER TABLE conversations SET (fillfactor = 80);
