-- Trigram indexes serve the listing's free search (`q`) over names, phones and e-mails.
-- pg_trgm is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- helpdesk schema. Every tenant-owned row is keyed (org_id, id) and references others through
-- (org_id, x_id), so a row can never point into another tenant. `doc` holds the full domain
-- value (helpdesk-core's serde form); the other columns are what constraints, indexes and
-- filters need, written from the same value by the store.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL
);

CREATE TABLE ticket_counters (
    org_id       uuid PRIMARY KEY REFERENCES organizations (id),
    next_number  bigint NOT NULL
);

CREATE TABLE channel_accounts (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    kind         text NOT NULL,
    external_id  text NOT NULL,
    created_at   timestamptz NOT NULL,
    doc          jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (kind, external_id)
);

CREATE TABLE contacts (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    phone_key    text,
    whatsapp_id  text,
    email        text,
    name_folded  text,
    phone_digits text,
    doc          jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, phone_key),
    UNIQUE (org_id, whatsapp_id),
    UNIQUE (org_id, email)
);
CREATE INDEX contacts_name_trgm ON contacts USING gin (name_folded gin_trgm_ops);
CREATE INDEX contacts_phone_trgm ON contacts USING gin (phone_digits gin_trgm_ops);
CREATE INDEX contacts_email_trgm ON contacts USING gin (email gin_trgm_ops);

CREATE TABLE conversations (
    org_id              uuid NOT NULL,
    id                  uuid NOT NULL,
    contact_id          uuid NOT NULL,
    channel_account_id  uuid NOT NULL,
    doc                 jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, contact_id, channel_account_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, channel_account_id) REFERENCES channel_accounts (org_id, id)
);

CREATE TABLE stages (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    name_key    text NOT NULL,
    position    integer NOT NULL,
    created_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key)
);

CREATE TABLE categories (
    org_id    uuid NOT NULL REFERENCES organizations (id),
    id        uuid NOT NULL,
    name_key  text NOT NULL,
    doc       jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key)
);

CREATE TABLE queues (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    name_key    text NOT NULL,
    created_at  timestamptz NOT NULL,
    version     bigint NOT NULL,
    doc         jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key)
);

CREATE TABLE agents (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    email        text NOT NULL,
    name_folded  text NOT NULL,
    created_at   timestamptz NOT NULL,
    version      bigint NOT NULL,
    doc          jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, email)
);
CREATE INDEX agents_name_trgm ON agents USING gin (name_folded gin_trgm_ops);

CREATE TABLE queue_members (
    org_id     uuid NOT NULL,
    queue_id   uuid NOT NULL,
    agent_id   uuid NOT NULL,
    joined_at  timestamptz NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (org_id, queue_id, agent_id),
    FOREIGN KEY (org_id, queue_id) REFERENCES queues (org_id, id),
    FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id)
);

CREATE TABLE tickets (
    org_id           uuid NOT NULL,
    id               uuid NOT NULL,
    number           bigint NOT NULL,
    conversation_id  uuid NOT NULL,
    contact_id       uuid NOT NULL,
    status           text NOT NULL,
    priority         text NOT NULL,
    queue_id         uuid,
    assignee_id      uuid,
    stage_id         uuid,
    utm_source       text,
    utm_source_key   text,
    source_type      text NOT NULL,
    click_kinds      text[] NOT NULL,
    created_at       timestamptz NOT NULL,
    sla_wake_at      timestamptz,
    -- Reporting: instants, business seconds (from the SLA clocks, pauses excluded) and CSAT.
    first_response_at     timestamptz,
    first_response_bsecs  bigint,
    resolved_at           timestamptz,
    resolution_bsecs      bigint,
    rating                smallint,
    rated_at              timestamptz,
    version          bigint NOT NULL,
    doc              jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, number),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id)
);
-- One live ticket per conversation, whatever races happen.
CREATE UNIQUE INDEX tickets_one_live_per_conversation ON tickets (org_id, conversation_id) WHERE status <> 'closed';
-- Listing order (newest first) and keyset pagination. The included columns are every column a
-- listing filter reads, so pages and (capped) totals are index-only scans.
CREATE INDEX tickets_listing ON tickets (org_id, created_at DESC, id DESC)
    INCLUDE (queue_id, assignee_id, contact_id, stage_id, utm_source_key, source_type, status, priority, click_kinds, number);
-- Live tickets only: what desks list most (boards, queues, "my tickets").
CREATE INDEX tickets_live ON tickets (org_id, created_at DESC, id DESC)
    INCLUDE (queue_id, assignee_id, contact_id, stage_id, utm_source_key, source_type, status, priority, click_kinds, number)
    WHERE status <> 'closed';
CREATE INDEX tickets_stage ON tickets (org_id, stage_id, created_at DESC, id DESC)
    INCLUDE (queue_id, assignee_id, contact_id, utm_source_key, source_type, status, priority, click_kinds, number);
CREATE INDEX tickets_assignee ON tickets (org_id, assignee_id, created_at DESC, id DESC);
-- Facets: distinct origins by skipping through this index; source types by probing it.
CREATE INDEX tickets_origin ON tickets (org_id, utm_source);
CREATE INDEX tickets_source ON tickets (org_id, source_type);
CREATE INDEX tickets_contact ON tickets (org_id, contact_id, created_at DESC, id DESC);
-- The inbounds view: tickets with a click id.
CREATE INDEX tickets_clicked ON tickets (org_id, created_at DESC, id DESC) WHERE click_kinds <> '{}';
-- Reporting ranges.
CREATE INDEX tickets_resolved ON tickets (org_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_rated ON tickets (org_id, rated_at) WHERE rated_at IS NOT NULL;
CREATE INDEX tickets_queue_waiting ON tickets (org_id, queue_id) WHERE assignee_id IS NULL AND status IN ('new', 'open', 'pending');
-- The SLA scan is a range scan over these: across tenants (which are due), then per tenant.
CREATE INDEX tickets_sla_wake ON tickets (sla_wake_at) WHERE sla_wake_at IS NOT NULL;
CREATE INDEX tickets_sla_wake_org ON tickets (org_id, sla_wake_at, id) WHERE sla_wake_at IS NOT NULL;

CREATE TABLE messages (
    org_id              uuid NOT NULL,
    id                  uuid NOT NULL,
    ticket_id           uuid NOT NULL,
    channel_account_id  uuid NOT NULL,
    external_id         text,
    created_at          timestamptz NOT NULL,
    seq                 bigserial NOT NULL,
    doc                 jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, ticket_id) REFERENCES tickets (org_id, id)
);
-- Idempotent inbound: one row per channel message id per inbox.
CREATE UNIQUE INDEX messages_external ON messages (channel_account_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_ticket ON messages (org_id, ticket_id, created_at, seq);

CREATE TABLE canned_responses (
    org_id    uuid NOT NULL REFERENCES organizations (id),
    id        uuid NOT NULL,
    shortcut  text NOT NULL,
    doc       jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, shortcut)
);

CREATE TABLE sla_policies (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    name_key    text NOT NULL,
    created_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key)
);

CREATE TABLE sales (
    org_id        uuid NOT NULL,
    id            uuid NOT NULL,
    ticket_id     uuid NOT NULL,
    amount_minor  bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    doc           jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, ticket_id) REFERENCES tickets (org_id, id)
);
CREATE INDEX sales_ticket ON sales (org_id, ticket_id);

CREATE TABLE assignment_cycles (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL,
    ticket_id  uuid NOT NULL,
    seq        bigserial NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, ticket_id) REFERENCES tickets (org_id, id)
);
CREATE INDEX cycles_ticket ON assignment_cycles (org_id, ticket_id, seq);

CREATE TABLE audit_entries (
    org_id     uuid NOT NULL REFERENCES organizations (id),
    id         uuid NOT NULL,
    ticket_id  uuid,
    seq        bigserial NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_ticket ON audit_entries (org_id, ticket_id, seq);

-- Transactional outbox: written with the change, delivered by relays in any instance. A relay
-- claims due rows with FOR UPDATE SKIP LOCKED and stamps a lease (claimed_until, claim_token);
-- settling needs the token, so an expired claim cannot overwrite a newer one.
CREATE TABLE events (
    seq              bigserial PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    id               uuid NOT NULL UNIQUE,
    ticket_id        uuid,
    kind             text NOT NULL,
    doc              jsonb NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    claimed_until    timestamptz,
    claim_token      uuid,
    settled_at       timestamptz,
    dead             boolean NOT NULL DEFAULT false,
    last_error       text
);
CREATE INDEX events_org ON events (org_id, seq);
CREATE INDEX events_unsettled ON events (seq) WHERE settled_at IS NULL;
