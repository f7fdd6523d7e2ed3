//! The whole store conformance suite on Postgres, with real parallel connections.
//! Needs DATABASE_URL (tests/run.sh provides a throwaway server); without it the tests fail
//! and say so, they never skip.

use helpdesk_core::store::Store;
use helpdesk_sqlx::PgStore;
use std::sync::Arc;

async fn store() -> Arc<dyn Store> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
    });
    let s = PgStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    s.migrate()
        .await
        .unwrap_or_else(|e| panic!("migrations failed: {e}"));
    Arc::new(s)
}

helpdesk_core::store_conformance_tests!(store());

/// The listing case again with the free search forced onto its scanning plan (any search
/// matching a contact): both plans must give the reference results.
mod search_by_scan {
    use super::*;

    async fn store() -> Arc<dyn Store> {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
        });
        let s = PgStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
            .with_search_id_limit(0);
        s.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrations failed: {e}"));
        Arc::new(s)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn listing_filters_paginates_and_counts_facets() {
        helpdesk_core::testing::conformance::listing_filters_paginates_and_counts_facets(
            store().await,
        )
        .await;
    }
}

/// Migration 0004 fills in the SLA snapshot of tickets written before tickets carried one:
/// from their policy (its targets for the ticket's priority, its business hours), or from the
/// clocks' own targets when the policy is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0004_fills_in_the_sla_snapshot_of_older_tickets() {
    use helpdesk_core::domain::ticket::Priority;
    use helpdesk_core::service::{NewSlaPolicy, TicketPatch};
    use helpdesk_core::sla::{CalendarSpec, SlaTargets};
    use helpdesk_core::testing::conformance::Fixture;
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pg = PgStore::connect(&url).await.unwrap();
    pg.migrate().await.unwrap();
    let f = Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let hours = CalendarSpec::weekdays(
        helpdesk_core::chrono_tz::America::Sao_Paulo,
        "09:00",
        "18:00",
    )
    .unwrap();
    let p =
        f.hd.create_sla_policy(
            org,
            admin,
            NewSlaPolicy::new(
                "Comercial",
                SlaTargets::NONE
                    .with_first_response(chrono::Duration::hours(2))
                    .with_next_response(chrono::Duration::hours(1))
                    .with_resolution(chrono::Duration::hours(8)),
            )
            .with_business_hours(hours)
            .with_priority(
                Priority::High,
                SlaTargets {
                    first_response: Some(3600),
                    next_response: Some(1800),
                    resolution: None,
                },
            )
            .as_default(),
        )
        .await
        .unwrap();
    let mut tickets = Vec::new();
    for i in 0..2 {
        let t = f.open_ticket(i).await;
        let t =
            f.hd.update_ticket(
                org,
                admin,
                t.id,
                TicketPatch {
                    priority: Some(Priority::High),
                    ..TicketPatch::default()
                },
            )
            .await
            .unwrap();
        tickets.push(t);
    }
    // Written the old way: no snapshot.
    let strip = "UPDATE tickets SET doc = jsonb_set(doc, '{sla}', (doc -> 'sla') - 'policy_name' - 'targets' - 'business_hours')
                 WHERE org_id = $1";
    sqlx::query(strip)
        .bind(org.0)
        .execute(pg.pool())
        .await
        .unwrap();
    // The second ticket's policy is gone since.
    sqlx::query("UPDATE tickets SET doc = jsonb_set(doc, '{sla,policy_id}', to_jsonb(gen_random_uuid()::text)) WHERE org_id = $1 AND id = $2")
        .bind(org.0)
        .bind(tickets[1].id.0)
        .execute(pg.pool())
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "../migrations/0004_sla_snapshots.sql"
    )))
    .execute(pg.pool())
    .await
    .unwrap();
    let kept = f.hd.ticket(org, admin, tickets[0].id).await.unwrap();
    assert_eq!(kept.sla, tickets[0].sla, "the snapshot is the policy's");
    assert_eq!(kept.sla.as_ref().unwrap().policy_id, p.id);
    let orphan = f.hd.ticket(org, admin, tickets[1].id).await.unwrap();
    let (got, was) = (orphan.sla.unwrap(), tickets[1].sla.clone().unwrap());
    assert_eq!(got.business_hours, None, "the policy is gone: 24 × 7");
    assert_eq!(
        got.targets,
        SlaTargets {
            first_response: Some(3600),
            next_response: None,
            resolution: Some(8 * 3600),
        },
        "the clocks' own targets (no next-response cycle ran)"
    );
    assert_eq!(got.first_response, was.first_response);
}

/// Migration 0006 gives tickets written before they carried the attribution of events the
/// best that is known: their queue and assignee now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0006_credits_older_tickets_to_their_queue_and_assignee() {
    use helpdesk_core::actor::Actor;
    use helpdesk_core::domain::message::MessageContent;
    use helpdesk_core::testing::conformance::Fixture;
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pg = PgStore::connect(&url).await.unwrap();
    pg.migrate().await.unwrap();
    let f = Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 1, 10).await;
    let (org, admin) = (f.org.id, &f.admin);
    let t = f.open_ticket(0).await;
    let agent = Actor::agent(f.agents[0].id);
    f.hd.reply(org, &agent, t.id, MessageContent::text("Olá"))
        .await
        .unwrap();
    f.hd.resolve(org, &agent, t.id).await.unwrap();
    let t = f.hd.rate(org, &Actor::System, t.id, 5, None).await.unwrap();
    f.hd.record_sale(
        org,
        admin,
        t.id,
        helpdesk_core::domain::ticket::Money::new(10_000, "BRL").unwrap(),
        None,
    )
    .await
    .unwrap();
    let t = f.hd.ticket(org, admin, t.id).await.unwrap();
    // Written the old way (and the sale's copy of the ticket's queue as 0005 left it).
    sqlx::query("UPDATE sales SET ticket_origin_queue_id = NULL WHERE org_id = $1")
        .bind(org.0)
        .execute(pg.pool())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE tickets SET doc = doc - 'origin_queue_id' - 'first_response_by' - 'first_response_queue_id'
                          - 'resolved_by' - 'resolved_queue_id'
                          || jsonb_build_object('rating', (doc -> 'rating') - 'agent_id' - 'queue_id')
         WHERE org_id = $1",
    )
    .bind(org.0)
    .execute(pg.pool())
    .await
    .unwrap();
    let stripped = f.hd.ticket(org, admin, t.id).await.unwrap();
    assert_eq!(stripped.origin_queue_id, None);
    assert_eq!(stripped.rating.as_ref().unwrap().agent_id, None);
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "../migrations/0006_report_attribution.sql"
    )))
    .execute(pg.pool())
    .await
    .unwrap();
    assert_eq!(f.hd.ticket(org, admin, t.id).await.unwrap(), t);
    let (queue, by): (Option<uuid::Uuid>, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT origin_queue_id, rating_agent_id FROM tickets WHERE org_id = $1 AND id = $2",
    )
    .bind(org.0)
    .bind(t.id.0)
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(
        (queue, by),
        (Some(f.queue.id.0), Some(f.agents[0].id.0)),
        "the generated columns follow the document"
    );
    let sale_queue: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT ticket_origin_queue_id FROM sales WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(pg.pool())
            .await
            .unwrap();
    assert_eq!(
        sale_queue,
        Some(f.queue.id.0),
        "the sale knows its ticket's queue"
    );
}

/// Every unique and foreign-key constraint of the migrated schema is mapped to the entity (and
/// key) its violation names, so a constraint added later cannot answer an anonymous error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_constraint_names_its_entity() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
    });
    let s = PgStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    s.migrate().await.unwrap();
    let unique: Vec<(String,)> = sqlx::query_as(
        "SELECT indexrelid::regclass::text FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         WHERE i.indisunique AND c.relnamespace = current_schema()::regnamespace
           AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    let foreign: Vec<(String,)> = sqlx::query_as(
        "SELECT conname::text FROM pg_constraint
         WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert!(unique.len() > 20 && !foreign.is_empty(), "{unique:?}");
    let mut missing: Vec<&str> = unique
        .iter()
        .map(|(n,)| n.as_str())
        .filter(|n| !helpdesk_sqlx::UNIQUE_KEYS.iter().any(|(c, ..)| c == n))
        .collect();
    missing.extend(
        foreign
            .iter()
            .map(|(n,)| n.as_str())
            .filter(|n| !helpdesk_sqlx::FOREIGN_KEYS.iter().any(|(c, _)| c == n)),
    );
    assert!(
        missing.is_empty(),
        "constraints without an entity: {missing:?}"
    );
}
