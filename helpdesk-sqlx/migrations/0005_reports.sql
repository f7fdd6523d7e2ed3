-- Reports credit what happened to who did it and where (see helpdesk-core's store/report.rs):
-- the columns they group and filter by, projected from each row's document by the database
-- itself (generated columns), so every write path keeps them right without binding them.

-- An RFC 3339 instant as the documents write it (always with its offset, `Z`): the result
-- does not depend on the session's time zone or date style, which is what makes the cast safe
-- to call immutable (generated columns and indexes need that).
CREATE FUNCTION helpdesk_instant(text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT $1::timestamptz $$;

-- How an SLA clock of a document stands, from what it stores: 'met' (in time), 'late' (met
-- after its target), 'breached' (not met, target used up), 'running' (neither yet; breached
-- once its due instant passes, which a report checks against its own `now`). NULL: no clock.
-- The same rule as SlaClock::outcome.
CREATE FUNCTION helpdesk_clock_outcome(clock jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN clock IS NULL OR jsonb_typeof(clock) <> 'object' THEN NULL
        WHEN clock ->> 'met_at' IS NOT NULL THEN
            CASE WHEN (clock ->> 'consumed_secs')::bigint >= (clock ->> 'target_secs')::bigint
                 THEN 'late' ELSE 'met' END
        WHEN (clock ->> 'consumed_secs')::bigint >= (clock ->> 'target_secs')::bigint THEN 'breached'
        ELSE 'running'
    END
$$;

-- The instant a running clock runs out (NULL when it does not run).
CREATE FUNCTION helpdesk_clock_due(clock jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(clock) = 'object' AND clock ->> 'running_since' IS NOT NULL
                THEN helpdesk_instant(clock ->> 'due_at') END
$$;

ALTER TABLE tickets
    ADD COLUMN origin_queue_id uuid GENERATED ALWAYS AS ((doc ->> 'origin_queue_id')::uuid) STORED,
    ADD COLUMN channel_account_id uuid GENERATED ALWAYS AS ((doc ->> 'channel_account_id')::uuid) STORED,
    ADD COLUMN category_id uuid GENERATED ALWAYS AS ((doc ->> 'category_id')::uuid) STORED,
    ADD COLUMN first_response_by uuid GENERATED ALWAYS AS ((doc ->> 'first_response_by')::uuid) STORED,
    ADD COLUMN first_response_queue_id uuid GENERATED ALWAYS AS ((doc ->> 'first_response_queue_id')::uuid) STORED,
    ADD COLUMN resolved_by uuid GENERATED ALWAYS AS ((doc ->> 'resolved_by')::uuid) STORED,
    ADD COLUMN resolved_queue_id uuid GENERATED ALWAYS AS ((doc ->> 'resolved_queue_id')::uuid) STORED,
    ADD COLUMN rating_agent_id uuid GENERATED ALWAYS AS ((doc #>> '{rating,agent_id}')::uuid) STORED,
    ADD COLUMN rating_queue_id uuid GENERATED ALWAYS AS ((doc #>> '{rating,queue_id}')::uuid) STORED,
    ADD COLUMN utm_campaign text GENERATED ALWAYS AS (doc #>> '{tracking,utm_campaign}') STORED,
    ADD COLUMN ad_platform text GENERATED ALWAYS AS (doc #>> '{tracking,click_ids,0,platform}') STORED,
    ADD COLUMN deal_minor bigint GENERATED ALWAYS AS ((doc #>> '{deal_value,minor}')::bigint) STORED,
    ADD COLUMN deal_currency text GENERATED ALWAYS AS (doc #>> '{deal_value,currency}') STORED,
    ADD COLUMN sla_policy_id uuid GENERATED ALWAYS AS ((doc #>> '{sla,policy_id}')::uuid) STORED,
    ADD COLUMN sla_fr text GENERATED ALWAYS AS (helpdesk_clock_outcome(doc #> '{sla,first_response}')) STORED,
    ADD COLUMN sla_fr_due timestamptz GENERATED ALWAYS AS (helpdesk_clock_due(doc #> '{sla,first_response}')) STORED,
    ADD COLUMN sla_res text GENERATED ALWAYS AS (helpdesk_clock_outcome(doc #> '{sla,resolution}')) STORED,
    ADD COLUMN sla_res_due timestamptz GENERATED ALWAYS AS (helpdesk_clock_due(doc #> '{sla,resolution}')) STORED,
    -- The current next-response cycle, while it is not met (met cycles are in the counts).
    ADD COLUMN sla_nr text GENERATED ALWAYS AS (
        CASE WHEN doc #>> '{sla,next_response,met_at}' IS NULL
             THEN helpdesk_clock_outcome(doc #> '{sla,next_response}') END) STORED,
    ADD COLUMN sla_nr_due timestamptz GENERATED ALWAYS AS (helpdesk_clock_due(doc #> '{sla,next_response}')) STORED,
    ADD COLUMN sla_nr_met integer GENERATED ALWAYS AS (COALESCE((doc #>> '{sla,next_responses_met}')::integer, 0)) STORED,
    ADD COLUMN sla_nr_late integer GENERATED ALWAYS AS (COALESCE((doc #>> '{sla,next_responses_breached}')::integer, 0)) STORED;

-- Each report population is a range of one of these indexes, read by an index-only scan:
-- they carry every column the population's queries read, so a report never visits the
-- ticket rows (about 2 kB each with their documents). A 30-day report of a 1,000,000-ticket
-- tenant reads a few thousand index pages instead of tens of thousands of heap pages.
-- Arrivals, distribution, SLA compliance and campaigns: tickets created in the range.
CREATE INDEX tickets_report_created ON tickets (org_id, created_at)
    INCLUDE (id, status, priority, queue_id, origin_queue_id, category_id, channel_account_id,
             first_response_queue_id, resolved_queue_id, sla_policy_id, sla_fr, sla_fr_due, sla_nr,
             sla_nr_due, sla_res, sla_res_due, sla_nr_met, sla_nr_late, utm_source_key, ad_platform,
             utm_campaign, deal_minor, deal_currency);
-- First responses, resolutions and ratings given in the range.
CREATE INDEX tickets_report_first_response ON tickets (org_id, first_response_at)
    INCLUDE (created_at, first_response_by, first_response_queue_id, first_response_bsecs)
    WHERE first_response_at IS NOT NULL;
DROP INDEX tickets_resolved;
CREATE INDEX tickets_report_resolved ON tickets (org_id, resolved_at)
    INCLUDE (created_at, resolved_by, resolved_queue_id, resolution_bsecs)
    WHERE resolved_at IS NOT NULL;
DROP INDEX tickets_rated;
CREATE INDEX tickets_report_rated ON tickets (org_id, rated_at)
    INCLUDE (rating, rating_agent_id, rating_queue_id)
    WHERE rated_at IS NOT NULL;

ALTER TABLE assignment_cycles
    ADD COLUMN queue_id uuid GENERATED ALWAYS AS ((doc ->> 'queue_id')::uuid) STORED,
    ADD COLUMN agent_id uuid GENERATED ALWAYS AS ((doc ->> 'agent_id')::uuid) STORED,
    ADD COLUMN queued_at timestamptz GENERATED ALWAYS AS (helpdesk_instant(doc ->> 'queued_at')) STORED,
    ADD COLUMN started_at timestamptz GENERATED ALWAYS AS (helpdesk_instant(doc ->> 'started_at')) STORED;
-- Waits: attendances taken in a range.
CREATE INDEX cycles_report_started ON assignment_cycles (org_id, started_at)
    INCLUDE (queued_at, agent_id, queue_id)
    WHERE started_at IS NOT NULL;

-- Value per campaign sums the sales of the tickets created in the range. A sale row carries
-- what of its ticket that needs, copied when the sale is recorded (none of it changes after
-- the ticket is created): the report reads sales alone.
ALTER TABLE sales
    ADD COLUMN currency text GENERATED ALWAYS AS (doc #>> '{amount,currency}') STORED,
    ADD COLUMN ticket_created_at timestamptz,
    ADD COLUMN ticket_origin_queue_id uuid,
    ADD COLUMN ticket_utm_source_key text,
    ADD COLUMN ticket_ad_platform text,
    ADD COLUMN ticket_utm_campaign text;
UPDATE sales s
SET ticket_created_at = t.created_at, ticket_origin_queue_id = t.origin_queue_id,
    ticket_utm_source_key = t.utm_source_key, ticket_ad_platform = t.ad_platform,
    ticket_utm_campaign = t.utm_campaign
FROM tickets t WHERE t.org_id = s.org_id AND t.id = s.ticket_id;
CREATE INDEX sales_report ON sales (org_id, ticket_created_at)
    INCLUDE (ticket_origin_queue_id, ticket_utm_source_key, ticket_ad_platform, ticket_utm_campaign,
             currency, amount_minor);
