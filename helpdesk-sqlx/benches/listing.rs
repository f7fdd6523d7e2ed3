//! Listing latency on a tenant with 1,000,000 tickets: the first page and a page deep in the
//! result, with the listing's filters, through `Helpdesk::list_tickets` (items, total and facets).
//!
//! `bash tests/bench.sh listing` (a throwaway Postgres), or with DATABASE_URL set.
//! Environment: `BENCH_TICKETS` (default 1000000), `BENCH_RUNS` (default 30).
//! Generating the data takes a few minutes; it is generated in SQL from documents the service
//! wrote, so every row decodes like a real one.

use helpdesk_core::actor::Actor;
use helpdesk_core::domain::ticket::TicketStatus;
use helpdesk_core::domain::tracking::{ClickIdKind, SourceType};
use helpdesk_core::ids::TicketId;
use helpdesk_core::service::{DateFilter, ListTickets, NewTicket};
use helpdesk_core::store::Store;
use helpdesk_core::store::query::{Cursor, DateRange};
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_sqlx::PgStore;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;
use support::{database_url, env_usize};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let url = database_url("listing");
    let n = env_usize("BENCH_TICKETS", 1_000_000) as i64;
    let runs = env_usize("BENCH_RUNS", 30);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .expect("connect");
    let pg = PgStore::from_pool(pool.clone());
    pg.migrate().await.expect("migrate");
    let f = Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 5, 1000).await;
    let org = f.org.id;
    let stages = f.hd.ensure_stages(org).await.expect("stages");
    // Templates written by the service.
    let t =
        f.hd.create_ticket(
            org,
            &Actor::System,
            NewTicket {
                queue_id: Some(f.queue.id),
                ..NewTicket::new(f.lead(0))
            },
        )
        .await
        .expect("template ticket");
    let started = Instant::now();
    let contacts = n / 4;
    println!("generating {n} tickets of {contacts} contacts…");
    let gen_sql = [
        // Contacts and their conversations (each has 4 tickets: 3 closed and 1 live).
        "DROP TABLE IF EXISTS bench_c",
        "CREATE UNLOGGED TABLE bench_c AS
         SELECT g, gen_random_uuid() AS cid, gen_random_uuid() AS vid
         FROM generate_series(1, $2::bigint) g",
        "INSERT INTO contacts (org_id, id, phone_key, whatsapp_id, email, name_folded, phone_digits, doc)
         SELECT $1, cid, '+55219' || lpad(g::text, 8, '0'), NULL, 'lead' || g || '@example.com', 'CLIENTE ' || g,
                '55219' || lpad(g::text, 8, '0'),
                (SELECT doc FROM contacts WHERE org_id = $1 LIMIT 1)
                  || jsonb_build_object('id', cid, 'name', 'Cliente ' || g, 'email', 'lead' || g || '@example.com',
                                        'phone', '+55219' || lpad(g::text, 8, '0'))
         FROM bench_c",
        "INSERT INTO conversations (org_id, id, contact_id, channel_account_id, doc)
         SELECT $1, vid, cid, (SELECT channel_account_id FROM conversations WHERE org_id = $1 LIMIT 1),
                (SELECT doc FROM conversations WHERE org_id = $1 LIMIT 1)
                  || jsonb_build_object('id', vid, 'contact_id', cid)
         FROM bench_c",
    ];
    for sql in gen_sql {
        sqlx::query(sql)
            .bind(org.0)
            .bind(contacts)
            .execute(&pool)
            .await
            .expect("generate");
    }
    // The template ticket was number 1: keep numbers unique by moving it past the range.
    sqlx::query("UPDATE tickets SET number = $3 WHERE org_id = $1 AND id = $2")
        .bind(org.0)
        .bind(t.id.0)
        .bind(n + 10)
        .execute(&pool)
        .await
        .expect("renumber the template");
    let stage_ids: Vec<uuid::Uuid> = stages.iter().map(|s| s.id.0).collect();
    let agent_ids: Vec<uuid::Uuid> = f.agents.iter().map(|a| a.id.0).collect();
    // Tickets: one per second of the last n seconds (~11.6 days for 1M), newest = highest
    // number; 4 per contact, the last one live.
    sqlx::query(
        "INSERT INTO tickets (org_id, id, number, conversation_id, contact_id, status, priority, queue_id, assignee_id,
                              stage_id, utm_source, utm_source_key, source_type, click_kinds, created_at, version, doc)
         SELECT $1, id, g + 1, vid, cid, status, 'medium', $3, assignee, stage, utm, utm, source, kinds, created, 1,
                (SELECT doc FROM tickets WHERE org_id = $1 AND id = $6)
                  || jsonb_build_object('id', id, 'number', g + 1, 'conversation_id', vid, 'contact_id', cid,
                                        'status', status, 'assignee_id', assignee, 'stage_id', stage,
                                        'created_at', created, 'updated_at', created,
                                        'tracking', jsonb_build_object('utm_source', utm, 'utm_medium', NULL, 'utm_campaign', NULL,
                                            'utm_term', NULL, 'utm_content', NULL,
                                            'click_ids', CASE WHEN kinds = '{}' THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
                                                'kind', 'gclid', 'value', 'g' || g, 'platform', 'google_ads')) END,
                                            'source_type', NULL, 'ad_headline', NULL, 'ad_source_url', NULL))
         FROM (
           SELECT gs.g, gen_random_uuid() AS id, c.vid, c.cid,
                  CASE WHEN gs.g % 4 <> 3 THEN 'closed' ELSE (ARRAY['new','open','pending','resolved'])[1 + (gs.g / 4) % 4] END AS status,
                  CASE WHEN gs.g % 7 = 0 THEN NULL ELSE ($4::uuid[])[1 + gs.g % array_length($4, 1)] END AS assignee,
                  ($5::uuid[])[1 + (gs.g / 3) % array_length($5, 1)] AS stage,
                  (ARRAY['google', 'facebook', 'instagram', NULL])[1 + (gs.g / 4) % 4] AS utm,
                  CASE WHEN (gs.g / 4) % 4 = 0 THEN 'paid' ELSE 'organic' END AS source,
                  CASE WHEN (gs.g / 4) % 4 = 0 THEN ARRAY['gclid'] ELSE '{}'::text[] END AS kinds,
                  now() - make_interval(secs => ($2::bigint - gs.g)) AS created
           FROM generate_series(0, $2::bigint - 1) AS gs(g)
           JOIN bench_c c ON c.g = gs.g / 4 + 1
         ) s",
    )
    .bind(org.0)
    .bind(n)
    .bind(f.queue.id.0)
    .bind(&agent_ids)
    .bind(&stage_ids)
    .bind(t.id.0)
    .execute(&pool)
    .await
    .expect("generate tickets");
    sqlx::query("DROP TABLE bench_c")
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query("VACUUM ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");
    println!("generated in {:.0} s", started.elapsed().as_secs_f64());

    let list = |req: ListTickets| {
        let hd = f.hd.clone();
        async move {
            let t = Instant::now();
            let page = hd
                .list_tickets(org, &Actor::System, req)
                .await
                .expect("list");
            (t.elapsed(), page)
        }
    };
    // A cursor deep in a filtered result, taken from SQL.
    let deep = |filter: &'static str, offset: i64| {
        let pool = pool.clone();
        async move {
            let (created_at, id): (chrono::DateTime<chrono::Utc>, uuid::Uuid) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT created_at, id FROM tickets WHERE org_id = $1 {filter}
                     ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1"
                )))
                .bind(org.0)
                .bind(offset)
                .fetch_one(&pool)
                .await
                .expect("deep cursor");
            Cursor {
                created_at,
                id: TicketId(id),
            }
            .encode()
        }
    };
    let stage = stages[1].id;
    // The generated tickets end at the database's clock, which the date filter follows.
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .expect("now");
    let cases: Vec<(&str, ListTickets)> = vec![
        ("no filter, first page", ListTickets::default()),
        (
            "no filter, page at offset 500000",
            ListTickets {
                cursor: Some(deep("", n / 2).await),
                ..ListTickets::default()
            },
        ),
        (
            "stage + paid, first page",
            ListTickets {
                stage_id: Some(stage),
                source: Some(SourceType::Paid),
                ..ListTickets::default()
            },
        ),
        (
            "stage + paid, deep page",
            ListTickets {
                stage_id: Some(stage),
                source: Some(SourceType::Paid),
                cursor: Some(
                    deep(
                        "AND stage_id = (SELECT id FROM stages WHERE org_id = $1 ORDER BY position, created_at, id OFFSET 1 LIMIT 1) AND source_type = 'paid'",
                        n / 50,
                    )
                    .await,
                ),
                ..ListTickets::default()
            },
        ),
        (
            "live statuses + origin google + 7d, first page",
            ListTickets {
                statuses: vec![TicketStatus::New, TicketStatus::Open, TicketStatus::Pending],
                origin: Some("google".into()),
                date: Some(DateFilter::Range(DateRange {
                    from: now - chrono::Duration::days(7),
                    to: now + chrono::Duration::days(1),
                })),
                ..ListTickets::default()
            },
        ),
        (
            "assignee + has sales = false, first page",
            ListTickets {
                assignee: Some(helpdesk_core::store::query::AssigneeFilter::Agent(
                    f.agents[2].id,
                )),
                has_sales: Some(false),
                ..ListTickets::default()
            },
        ),
        (
            "inbounds: gclid, first page",
            ListTickets {
                click_id: Some(ClickIdKind::Gclid),
                ..ListTickets::default()
            },
        ),
        (
            "q = lead name",
            ListTickets {
                q: Some(format!("Cliente {}", contacts - 7)),
                ..ListTickets::default()
            },
        ),
        (
            "q = phone digits",
            ListTickets {
                q: Some(format!("21 9{:08}", contacts - 7)),
                ..ListTickets::default()
            },
        ),
        (
            "q = ticket number",
            ListTickets {
                q: Some(format!("#{}", n * 3 / 4)),
                ..ListTickets::default()
            },
        ),
    ];
    println!(
        "{:<48} {:>9} {:>9} {:>9} {:>6}",
        "case", "median", "p90", "total", "items"
    );
    for (name, req) in cases {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let (d, page) = list(req.clone()).await;
            times.push(d);
            last = Some(page);
        }
        times.sort();
        let page = last.expect("ran");
        println!(
            "{:<48} {:>7.2}ms {:>7.2}ms {:>9} {:>6}",
            name,
            times[runs / 2].as_secs_f64() * 1e3,
            times[(runs * 9 / 10).min(runs - 1)].as_secs_f64() * 1e3,
            page.total,
            page.items.len()
        );
    }
}
