//! Ticket listing in SQL, with the semantics of core's `TicketQuery::matches` (the
//! conformance suite compares both stores).

use crate::error::db;
use crate::tx::{PgTx, from_doc};
use helpdesk_core::Result;
use helpdesk_core::domain::text::fold;
use helpdesk_core::store::query::{
    AssigneeFilter, Cursor, Facets, TicketPage, TicketQuery, TicketSummary,
};
use serde_json::Value;
use sqlx::Row;

/// Visibility ($1 org, $2 queues, $3 assignee, $4 unqueued, $5 contact).
macro_rules! visible {
    () => {
        "t.org_id = $1
         AND ($5::uuid IS NULL OR t.contact_id = $5)
         AND ($2::uuid[] IS NULL OR t.queue_id = ANY($2) OR ($3::uuid IS NOT NULL AND t.assignee_id = $3) OR ($4::bool AND t.queue_id IS NULL))"
    };
}

/// Every filter but the cursor ($1..$25), with the free-search clause `$q`.
macro_rules! filters {
    ($q:expr) => {
        concat!(
            visible!(),
            "
         AND ($6::timestamptz IS NULL OR t.created_at >= $6)
         AND ($7::timestamptz IS NULL OR t.created_at < $7)
         AND ($8::uuid IS NULL OR t.stage_id = $8)
         AND ($9::text IS NULL OR t.utm_source_key = $9)
         AND ($10::text IS NULL OR t.source_type = $10)
         AND ($11::bool IS NULL OR EXISTS (SELECT 1 FROM sales x WHERE x.org_id = t.org_id AND x.ticket_id = t.id) = $11)
         AND ($12::text[] IS NULL OR t.status = ANY($12))
         AND ($13::text IS NULL OR t.priority = $13)
         AND ($14::uuid IS NULL OR t.queue_id = $14)
         AND ($15::uuid IS NULL OR t.contact_id = $15)
         AND (NOT $16::bool OR t.assignee_id IS NULL)
         AND ($17::uuid IS NULL OR t.assignee_id = $17)
         AND ($23::text IS NULL OR t.click_kinds @> ARRAY[$23::text])
         AND (NOT $18::bool OR t.number = $19::bigint ",
            $q,
            ")"
        )
    };
}

/// Free search by the ids of the matching contacts ($24) and agents ($25), found first with
/// the trigram indexes: the tickets come from their indexes (few matches, any table size).
macro_rules! q_ids {
    () => {
        "OR t.contact_id = ANY($24::uuid[]) OR t.assignee_id = ANY($25::uuid[])"
    };
}

/// Free search when too many contacts match to list them: checked per ticket, in listing
/// order, so the first page stops early ($20 folded, $21 lower-case, $22 digits).
macro_rules! q_scan {
    () => {
        "OR t.contact_id IN (SELECT qc.id FROM contacts qc WHERE qc.org_id = $1
               AND (qc.name_folded LIKE '%' || $20::text || '%' ESCAPE '\\'
                    OR qc.email LIKE '%' || $21::text || '%' ESCAPE '\\'
                    OR ($22::text IS NOT NULL AND qc.phone_digits LIKE '%' || $22::text || '%')))
         OR t.assignee_id = ANY($25::uuid[])"
    };
}

macro_rules! from_joined {
    () => {
        " FROM tickets t
          JOIN contacts c ON c.org_id = t.org_id AND c.id = t.contact_id
          LEFT JOIN agents a ON a.org_id = t.org_id AND a.id = t.assignee_id
          LEFT JOIN stages s ON s.org_id = t.org_id AND s.id = t.stage_id "
    };
}

macro_rules! page {
    ($q:expr) => {
        concat!(
            "SELECT t.doc AS tdoc, t.created_at AS created_at, t.id AS id, c.doc AS cdoc, a.doc AS adoc, s.doc AS sdoc,
            (SELECT count(*) FROM messages m WHERE m.org_id = t.org_id AND m.ticket_id = t.id) AS messages_count,
            (SELECT count(*) FROM sales x WHERE x.org_id = t.org_id AND x.ticket_id = t.id) AS sales_count,
            (SELECT COALESCE(sum(x.amount_minor), 0)::bigint FROM sales x WHERE x.org_id = t.org_id AND x.ticket_id = t.id) AS sales_total",
            from_joined!(),
            " WHERE ",
            filters!($q),
            " AND ($26::timestamptz IS NULL OR (t.created_at, t.id) < ($26, $27::uuid))
              ORDER BY t.created_at DESC, t.id DESC LIMIT $28"
        )
    };
}

/// Counts up to $26 rows: the total is exact below the count limit and cheap above it.
macro_rules! count {
    ($q:expr) => {
        concat!(
            "SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE ",
            filters!($q),
            " LIMIT $26) n"
        )
    };
}

const PAGE_IDS: &str = page!(q_ids!());
const PAGE_SCAN: &str = page!(q_scan!());
const COUNT_IDS: &str = count!(q_ids!());
const COUNT_SCAN: &str = count!(q_scan!());

/// Distinct origins of the visible tickets, by skipping through the (org_id, utm_source)
/// index: one probe per distinct value instead of a pass over every ticket.
const ORIGINS: &str = concat!(
    "WITH RECURSIVE o(v) AS (
        (SELECT t.utm_source FROM tickets t WHERE ",
    visible!(),
    " AND t.utm_source IS NOT NULL ORDER BY t.utm_source LIMIT 1)
        UNION ALL
        SELECT (SELECT t.utm_source FROM tickets t WHERE ",
    visible!(),
    " AND t.utm_source > o.v ORDER BY t.utm_source LIMIT 1) FROM o WHERE o.v IS NOT NULL
     )
     SELECT v FROM o WHERE v IS NOT NULL"
);

/// Source types present among the visible tickets (one indexed probe per type).
const SOURCES: &str = concat!(
    "SELECT k FROM unnest($6::text[]) k WHERE EXISTS (SELECT 1 FROM tickets t WHERE ",
    visible!(),
    " AND t.source_type = k)"
);

/// Contacts matched by the free search, up to one more than [`MAX_Q_CONTACTS`].
const Q_CONTACTS: &str = "SELECT id FROM contacts WHERE org_id = $1
     AND (name_folded LIKE '%' || $2::text || '%' ESCAPE '\\'
          OR email LIKE '%' || $3::text || '%' ESCAPE '\\'
          OR ($4::text IS NOT NULL AND phone_digits LIKE '%' || $4::text || '%'))
     LIMIT $5";

/// Agents matched by the free search.
const Q_AGENTS: &str = "SELECT id FROM agents WHERE org_id = $1
     AND name_folded LIKE '%' || $2::text || '%' ESCAPE '\\'";

/// Above this many matching contacts the search scans tickets in listing order instead.
pub(crate) const DEFAULT_SEARCH_ID_LIMIT: i64 = 2000;

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

struct Args {
    org: uuid::Uuid,
    queues: Option<Vec<uuid::Uuid>>,
    assignee_vis: Option<uuid::Uuid>,
    unqueued: bool,
    contact_vis: Option<uuid::Uuid>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    stage: Option<uuid::Uuid>,
    origin: Option<String>,
    source: Option<&'static str>,
    has_sales: Option<bool>,
    statuses: Option<Vec<&'static str>>,
    priority: Option<&'static str>,
    queue: Option<uuid::Uuid>,
    contact: Option<uuid::Uuid>,
    unassigned: bool,
    assignee: Option<uuid::Uuid>,
    q: bool,
    q_number: Option<i64>,
    q_folded: String,
    q_lower: String,
    q_digits: Option<String>,
    click: Option<&'static str>,
    q_contacts: Vec<uuid::Uuid>,
    q_agents: Vec<uuid::Uuid>,
}

impl Args {
    fn new(org: uuid::Uuid, q: &TicketQuery) -> Args {
        let v = &q.visibility;
        let text = q.q.clone().unwrap_or_default();
        let num = text.trim_start_matches('#');
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= 3
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        Args {
            org,
            queues: v.queues.as_ref().map(|qs| qs.iter().map(|x| x.0).collect()),
            assignee_vis: v.assignee.map(|x| x.0),
            unqueued: v.include_unqueued,
            contact_vis: v.contact.map(|x| x.0),
            from: q.created.map(|r| r.from),
            to: q.created.map(|r| r.to),
            stage: q.stage_id.map(|x| x.0),
            origin: q.origin.as_ref().map(|o| o.to_lowercase()),
            source: q.source.map(|s| s.as_str()),
            has_sales: q.has_sales,
            statuses: (!q.statuses.is_empty())
                .then(|| q.statuses.iter().map(|s| s.as_str()).collect()),
            priority: q.priority.map(|p| p.as_str()),
            queue: q.queue_id.map(|x| x.0),
            contact: q.contact_id.map(|x| x.0),
            unassigned: matches!(q.assignee, Some(AssigneeFilter::Unassigned)),
            assignee: match q.assignee {
                Some(AssigneeFilter::Agent(a)) => Some(a.0),
                _ => None,
            },
            q: q.q.is_some(),
            q_number: (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
                .then(|| num.parse::<i64>().ok())
                .flatten(),
            q_folded: like_escape(&fold(&text)),
            q_lower: like_escape(&text.to_lowercase()),
            q_digits: phone_like.then_some(digits),
            click: q.click_id.map(|k| k.as_str()),
            q_contacts: Vec::new(),
            q_agents: Vec::new(),
        }
    }
}

macro_rules! bind_vis {
    ($q:expr, $a:expr) => {
        $q.bind($a.org)
            .bind($a.queues.clone())
            .bind($a.assignee_vis)
            .bind($a.unqueued)
            .bind($a.contact_vis)
    };
}

macro_rules! bind_filters {
    ($q:expr, $a:expr) => {
        bind_vis!($q, $a)
            .bind($a.from)
            .bind($a.to)
            .bind($a.stage)
            .bind($a.origin.clone())
            .bind($a.source)
            .bind($a.has_sales)
            .bind($a.statuses.clone())
            .bind($a.priority)
            .bind($a.queue)
            .bind($a.contact)
            .bind($a.unassigned)
            .bind($a.assignee)
            .bind($a.q)
            .bind($a.q_number)
            .bind($a.q_folded.clone())
            .bind($a.q_lower.clone())
            .bind($a.q_digits.clone())
            .bind($a.click)
            .bind($a.q_contacts.clone())
            .bind($a.q_agents.clone())
    };
}

pub(crate) async fn list(tx: &mut PgTx, q: &TicketQuery) -> Result<TicketPage> {
    let mut a = Args::new(tx_org(tx), q);
    let mut by_ids = true;
    if a.q {
        let contacts: Vec<uuid::Uuid> = sqlx::query_scalar(Q_CONTACTS)
            .bind(a.org)
            .bind(&a.q_folded)
            .bind(&a.q_lower)
            .bind(&a.q_digits)
            .bind(tx.search_id_limit + 1)
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(db)?;
        by_ids = contacts.len() as i64 <= tx.search_id_limit;
        a.q_contacts = contacts;
        a.q_agents = sqlx::query_scalar(Q_AGENTS)
            .bind(a.org)
            .bind(&a.q_folded)
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(db)?;
    }
    let (page_sql, count_sql) = if by_ids {
        (PAGE_IDS, COUNT_IDS)
    } else {
        (PAGE_SCAN, COUNT_SCAN)
    };
    let limit = i64::from(q.limit);
    let rows = bind_filters!(sqlx::query(page_sql), a)
        .bind(q.cursor.map(|c| c.created_at))
        .bind(q.cursor.map(|c| c.id.0))
        .bind(limit + 1)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    let count_limit = i64::from(q.count_limit.max(1));
    let counted: i64 = bind_filters!(sqlx::query_scalar(count_sql), a)
        .bind(count_limit + 1)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(db)?;
    let total = counted.min(count_limit);
    let total_exact = counted <= count_limit;
    let mut items = Vec::with_capacity(rows.len());
    let mut last = None;
    for (i, r) in rows.iter().enumerate() {
        if i as i64 == limit {
            break;
        }
        let ticket: helpdesk_core::domain::ticket::Ticket =
            from_doc("tickets", r.try_get::<Value, _>("tdoc").map_err(db)?)?;
        let contact: helpdesk_core::domain::party::Contact =
            from_doc("contacts", r.try_get::<Value, _>("cdoc").map_err(db)?)?;
        let agent: Option<helpdesk_core::domain::team::Agent> = r
            .try_get::<Option<Value>, _>("adoc")
            .map_err(db)?
            .map(|d| from_doc("agents", d))
            .transpose()?;
        let stage = r
            .try_get::<Option<Value>, _>("sdoc")
            .map_err(db)?
            .map(|d| from_doc("stages", d))
            .transpose()?;
        // The cursor is built from the stored column (microseconds), so pages stay exact.
        last = Some(Cursor {
            created_at: r.try_get("created_at").map_err(db)?,
            id: helpdesk_core::ids::TicketId(r.try_get("id").map_err(db)?),
        });
        items.push(TicketSummary {
            ticket,
            lead_name: contact.name,
            lead_phone: contact.phone,
            lead_email: contact.email,
            assignee_name: agent.map(|a| a.name),
            stage,
            messages_count: r.try_get::<i64, _>("messages_count").map_err(db)? as u64,
            sales_count: r.try_get::<i64, _>("sales_count").map_err(db)? as u64,
            sales_total_minor: r.try_get::<i64, _>("sales_total").map_err(db)?,
        });
    }
    let next_cursor = if rows.len() as i64 > limit {
        last.map(|c| c.encode())
    } else {
        None
    };
    let mut origins: Vec<String> = bind_vis!(sqlx::query_scalar(ORIGINS), a)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    origins.sort();
    origins.dedup();
    use helpdesk_core::domain::tracking::SourceType;
    let all: Vec<&str> = [SourceType::Organic, SourceType::Paid]
        .iter()
        .map(|s| s.as_str())
        .collect();
    let sources: Vec<String> = bind_vis!(sqlx::query_scalar(SOURCES), a)
        .bind(all)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(db)?;
    let mut sources: Vec<SourceType> = sources
        .iter()
        .filter_map(|s| SourceType::parse(s).ok())
        .collect();
    sources.sort_by_key(|s| s.as_str());
    use helpdesk_core::store::SettingsTx;
    let stages = tx.stages().await?;
    Ok(TicketPage {
        items,
        next_cursor,
        total: total as u64,
        total_exact,
        facets: Facets {
            origins,
            sources,
            stages,
        },
    })
}

fn tx_org(tx: &PgTx) -> uuid::Uuid {
    use helpdesk_core::store::StoreTx;
    tx.org_id().0
}
