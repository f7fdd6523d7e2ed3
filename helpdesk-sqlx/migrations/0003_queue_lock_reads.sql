-- Automatic assignment locks a queue, then reads its rotation, its members and their loads.
-- Those four round trips ran while the transaction held the tenant's ticket-number counter,
-- so every other new ticket of the tenant waited on them. This takes the lock and does the
-- three reads in one call. Each query of a VOLATILE function takes a fresh snapshot (in READ
-- COMMITTED, the isolation the store uses), so the reads see everything committed before the
-- lock was granted, exactly like separate statements after it.
CREATE OR REPLACE FUNCTION helpdesk_lock_queue(
    lock_key bigint, org uuid, queue uuid,
    OUT queue_doc jsonb, OUT member_docs jsonb[], OUT agent_docs jsonb[]
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT q.doc INTO queue_doc FROM queues q WHERE q.org_id = org AND q.id = queue;
    SELECT coalesce(array_agg(m.doc ORDER BY m.joined_at, m.agent_id), '{}')
      INTO member_docs
      FROM queue_members m WHERE m.org_id = org AND m.queue_id = queue;
    SELECT coalesce(array_agg(a.doc), '{}')
      INTO agent_docs
      FROM agents a
     WHERE a.org_id = org
       AND a.id IN (SELECT m.agent_id FROM queue_members m WHERE m.org_id = org AND m.queue_id = queue);
END
$$;
