-- A ticket's SLA clocks now carry a snapshot of the policy they run under (its name, its
-- targets for the ticket's priority, its business hours), so that editing or deleting a
-- policy never moves the clocks of tickets already under it. Tickets written before carry only
-- the policy's id: their snapshot is filled in from the policy, or, when the policy is gone,
-- from the targets their clocks hold (counted 24 x 7, as they were then).
UPDATE tickets t
SET doc = jsonb_set(t.doc, '{sla}', (t.doc -> 'sla') || jsonb_build_object(
    'policy_name', COALESCE(p.doc ->> 'name', ''),
    'business_hours', COALESCE(p.doc -> 'business_hours', 'null'::jsonb),
    'targets', CASE
        WHEN p.doc IS NULL THEN jsonb_build_object(
            'first_response', t.doc #> '{sla,first_response,target_secs}',
            'next_response', t.doc #> '{sla,next_response,target_secs}',
            'resolution', t.doc #> '{sla,resolution,target_secs}')
        ELSE jsonb_build_object(
            'first_response', COALESCE(
                NULLIF(p.doc #> ARRAY['priority_targets', t.priority, 'first_response'], 'null'::jsonb),
                p.doc #> '{targets,first_response}'),
            'next_response', COALESCE(
                NULLIF(p.doc #> ARRAY['priority_targets', t.priority, 'next_response'], 'null'::jsonb),
                p.doc #> '{targets,next_response}'),
            'resolution', COALESCE(
                NULLIF(p.doc #> ARRAY['priority_targets', t.priority, 'resolution'], 'null'::jsonb),
                p.doc #> '{targets,resolution}'))
        END))
FROM tickets s
LEFT JOIN sla_policies p
       ON p.org_id = s.org_id AND p.id = (s.doc #>> '{sla,policy_id}')::uuid
WHERE s.org_id = t.org_id AND s.id = t.id
  AND jsonb_typeof(t.doc -> 'sla') = 'object'
  AND NOT (t.doc -> 'sla' ? 'policy_name');
