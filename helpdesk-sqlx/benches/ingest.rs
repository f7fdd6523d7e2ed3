//! Inbound ingestion throughput on Postgres next to a raw single-row INSERT loop on the same
//! server in the same run (the ceiling for one durable row per message).
//!
//! `DATABASE_URL=postgres://… cargo bench -p helpdesk-sqlx --bench ingest`
//! (or `bash tests/bench.sh ingest`, which brings a throwaway Postgres like the tests do).
//! Environment: `BENCH_MESSAGES` (default 20000), `BENCH_TASKS` (default 8), `BENCH_TENANTS`
//! (default 1: every contact writes to one tenant, whose new tickets take numbers in turn;
//! with more, contact `c` writes to tenant `c mod BENCH_TENANTS`).

use helpdesk_core::store::Store;
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_sqlx::PgStore;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Instant;

mod support;
use support::{database_url, env_usize};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let url = database_url("ingest");
    let n = env_usize("BENCH_MESSAGES", 20_000);
    let tasks = env_usize("BENCH_TASKS", 8);
    let tenants = env_usize("BENCH_TENANTS", 1).max(1);
    let pool = PgPoolOptions::new()
        .max_connections(tasks as u32)
        .connect(&url)
        .await
        .expect("connect");
    let pg = PgStore::from_pool(pool.clone());
    pg.migrate().await.expect("migrate");

    // Raw ceiling: one autocommit INSERT per row, same concurrency, a message-sized document.
    sqlx::query("DROP TABLE IF EXISTS bench_raw_insert")
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query(
        "CREATE TABLE bench_raw_insert (id bigserial PRIMARY KEY, external_id text NOT NULL UNIQUE, doc jsonb NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create");
    let doc = serde_json::json!({
        "direction": "inbound", "kind": "text", "body": "Olá, minha internet caiu de novo desde ontem à noite",
        "from": "+5511999998888", "sent_at": "2026-03-02T12:00:00Z", "status": "received"
    });
    let start = Instant::now();
    let mut hs = Vec::new();
    for w in 0..tasks {
        let (pool, doc) = (pool.clone(), doc.clone());
        hs.push(tokio::spawn(async move {
            for i in (w..n).step_by(tasks) {
                sqlx::query("INSERT INTO bench_raw_insert (external_id, doc) VALUES ($1, $2)")
                    .bind(format!("wamid.raw.{i}"))
                    .bind(&doc)
                    .execute(&pool)
                    .await
                    .expect("insert");
            }
        }));
    }
    for h in hs {
        h.await.expect("task");
    }
    let raw = n as f64 / start.elapsed().as_secs_f64();

    // Ingestion: one message per delivery through the whole workflow (contact, conversation,
    // ticket, routing, assignment, greeting, events, audit). Every contact sends 5 messages:
    // phase 1 delivers each contact's first (new conversation and ticket), phase 2 the other
    // four (existing conversation). Task w owns contacts w, w + tasks, …: a conversation's
    // messages arrive in order, as Meta sends them.
    let mut fixtures = Vec::new();
    for _ in 0..tenants {
        fixtures.push(Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 8, 1000).await);
    }
    let fixtures = Arc::new(fixtures);
    let per_contact = 5;
    let contacts = n.div_ceil(per_contact);
    let mut rates = Vec::new();
    let start_all = Instant::now();
    // Phase 3 sends 4 more messages per contact through the full workflow only (the fast path
    // off): the same work as phase 2, measured in the same run.
    for (phase, fast_path) in [
        (0..1, true),
        (1..per_contact, true),
        (per_contact..per_contact + 4, false),
    ] {
        // One service per tenant for the phase, built before the clock starts.
        let services: Arc<Vec<_>> = Arc::new(
            fixtures
                .iter()
                .map(|f| f.hd.clone().with_inbound_fast_path(fast_path))
                .collect(),
        );
        let start = Instant::now();
        let mut hs = Vec::new();
        for w in 0..tasks {
            let (fixtures, services, phase) = (fixtures.clone(), services.clone(), phase.clone());
            hs.push(tokio::spawn(async move {
                let mut done = 0usize;
                for contact in (w..contacts).step_by(tasks) {
                    let (f, hd) = (&fixtures[contact % tenants], &services[contact % tenants]);
                    for k in phase.clone() {
                        let i = contact * (per_contact + 4) + k;
                        if k < per_contact && contact * per_contact + k >= n {
                            break;
                        }
                        let phone = format!("55119{contact:08}");
                        let m = f.whatsapp(
                            &format!("wamid.bench.{i}"),
                            &phone,
                            "Olá, minha internet caiu",
                        );
                        let r = hd.ingest(m).await.expect("ingest");
                        assert_eq!(r.created_ticket, k == 0);
                        done += 1;
                    }
                }
                done
            }));
        }
        let mut done = 0;
        for h in hs {
            done += h.await.expect("task");
        }
        rates.push((done, done as f64 / start.elapsed().as_secs_f64()));
        if rates.len() == 2 {
            // "All" is the usual mix: new and existing conversations through the default path.
            rates.push((0, start_all.elapsed().as_secs_f64()));
        }
    }
    let secs = rates[2].1;
    let ingest = (rates[0].0 + rates[1].0) as f64 / secs;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE org_id = ANY($1) AND external_id LIKE 'wamid.bench.%'",
    )
    .bind(fixtures.iter().map(|f| f.org.id.0).collect::<Vec<_>>())
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        stored as usize,
        rates[0].0 + rates[1].0 + rates[3].0,
        "every message stored once"
    );
    println!("tasks: {tasks}, messages: {n}, tenants: {tenants}");
    println!("raw single-row INSERT:            {raw:.0} rows/s");
    println!(
        "ingestion, new conversations:     {:.0} messages/s ({} messages)",
        rates[0].1, rates[0].0
    );
    println!(
        "ingestion, existing conversations: {:.0} messages/s ({} messages)",
        rates[1].1, rates[1].0
    );
    println!(
        "  same, workflow only (no fast path): {:.0} messages/s ({} messages)",
        rates[3].1, rates[3].0
    );
    println!("ingestion, all:                   {ingest:.0} messages/s ({secs:.1} s)");
    println!(
        "ratio (all / raw):                {:.1}%",
        100.0 * ingest / raw
    );
    println!(
        "ratio (existing / raw):           {:.1}%",
        100.0 * rates[1].1 / raw
    );
    println!(
        "ratio (existing, workflow / raw): {:.1}%",
        100.0 * rates[3].1 / raw
    );
}
