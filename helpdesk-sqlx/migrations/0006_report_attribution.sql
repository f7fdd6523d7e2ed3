-- Tickets written before their documents carried the attribution of events: the best that is
-- known (the ticket's queue and assignee now), as the reports credited them until now.
UPDATE tickets
SET doc = doc || jsonb_strip_nulls(jsonb_build_object(
        'origin_queue_id', doc -> 'queue_id',
        'first_response_by', CASE WHEN first_response_at IS NOT NULL THEN doc -> 'assignee_id' END,
        'first_response_queue_id', CASE WHEN first_response_at IS NOT NULL THEN doc -> 'queue_id' END,
        'resolved_by', CASE WHEN resolved_at IS NOT NULL THEN doc -> 'assignee_id' END,
        'resolved_queue_id', CASE WHEN resolved_at IS NOT NULL THEN doc -> 'queue_id' END))
WHERE NOT (doc ? 'origin_queue_id');
UPDATE tickets
SET doc = jsonb_set(doc, '{rating}', (doc -> 'rating') || jsonb_build_object(
        'agent_id', doc -> 'assignee_id', 'queue_id', doc -> 'queue_id'))
WHERE jsonb_typeof(doc -> 'rating') = 'object' AND NOT (doc -> 'rating' ? 'agent_id');
-- Sales copied their ticket's origin queue in 0005, before it was known: again, now.
UPDATE sales s
SET ticket_origin_queue_id = t.origin_queue_id
FROM tickets t
WHERE t.org_id = s.org_id AND t.id = s.ticket_id
  AND s.ticket_origin_queue_id IS DISTINCT FROM t.origin_queue_id;
