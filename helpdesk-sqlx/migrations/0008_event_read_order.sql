-- Readers page through a tenant's events with `after`. Sequence numbers are taken before
-- commit, so a transaction can commit an event numbered below one another transaction
-- committed first; paging by number would pass it for good. Events are listed instead by the
-- id of the transaction that wrote them, and only once every transaction older than the
-- oldest still running has ended: what is listed never gains an event before its end.
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX events_org_tx ON events (org_id, tx, seq);
