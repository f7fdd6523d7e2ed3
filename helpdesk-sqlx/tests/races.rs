//! Targeted races on Postgres, checked in SQL as well as through the service: many deliveries
//! over a small pool, gap-free numbers, and a database outage in the middle of ingestion.
//! Needs DATABASE_URL (tests/run.sh provides a throwaway server); never skips.

use helpdesk_core::Error;
use helpdesk_core::domain::records::EventKind;
use helpdesk_core::store::Store;
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_sqlx::PgStore;
use sqlx::postgres::PgPoolOptions;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
    })
}

/// A store over a pool of exactly `conns` connections.
async fn store(conns: u32) -> PgStore {
    let pool = PgPoolOptions::new()
        .max_connections(conns)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    let s = PgStore::from_pool(pool);
    s.migrate().await.expect("migrations");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_deliveries_of_fifty_messages_over_eight_connections() {
    let pg = store(8).await;
    let f = Arc::new(Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 3, 10).await);
    // Each of 50 messages is delivered 4 times; deliveries are interleaved (message i's copies
    // are 50 positions apart) and all in flight at once.
    let mut tasks = Vec::new();
    for copy in 0..4 {
        for i in 0..50 {
            let f = f.clone();
            // Half the copies spell the number without the ninth digit, as old wa_ids do.
            let phone = if (i + copy) % 2 == 0 {
                "5511987650000"
            } else {
                "551187650000"
            };
            let m = f.whatsapp(&format!("wamid.race.{i}"), phone, &format!("msg {i}"));
            tasks.push(tokio::spawn(async move { (i, f.hd.ingest(m).await) }));
        }
    }
    let mut stored = HashSet::new();
    let mut tickets = HashSet::new();
    let mut messages = HashSet::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        let r = r.expect("every delivery is acknowledged");
        if !r.duplicate {
            assert!(stored.insert(i), "message {i} stored twice");
        }
        tickets.insert(r.ticket_id);
        messages.insert((i, r.message_id));
    }
    assert_eq!(
        stored.len(),
        50,
        "each message stored by exactly one delivery"
    );
    assert_eq!(tickets.len(), 1, "one ticket");
    assert_eq!(
        messages.len(),
        50,
        "every copy reports its message's one id"
    );

    let org = f.org.id.0;
    let (contacts, open_tickets, inbound): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM contacts WHERE org_id = $1),
                (SELECT count(*) FROM tickets WHERE org_id = $1 AND status <> 'closed'),
                (SELECT count(*) FROM messages WHERE org_id = $1 AND external_id LIKE 'wamid.race.%')",
    )
    .bind(org)
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(
        (contacts, open_tickets, inbound),
        (1, 1, 50),
        "1 contact, 1 open ticket, 50 messages"
    );
    let ev = f.events().await;
    let count = |k: EventKind| ev.iter().filter(|e| e.kind == k).count();
    assert_eq!(count(EventKind::TicketCreated), 1);
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::MessageAdded && e.payload["direction"] == "inbound")
            .count(),
        50,
        "one message.added per stored message"
    );
    assert_eq!(f.channel.sent().len(), 1, "the greeting went out once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ticket_numbers_from_eight_tasks_are_one_to_n_with_count_equal_to_max() {
    let pg = store(8).await;
    let f = Arc::new(Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 0, 1).await);
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..400).step_by(8) {
                // Every 10th lead is created twice at once: the loser must not burn a number.
                let twice = if i % 10 == 0 { 2 } else { 1 };
                let mut oks = 0;
                for _ in 0..twice {
                    match f.try_open_ticket(i).await {
                        Ok(_) => oks += 1,
                        Err(Error::AlreadyExists { .. }) => {}
                        Err(e) => panic!("create: {e}"),
                    }
                }
                assert_eq!(oks, 1, "lead {i} has one live ticket");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (count, min, max, distinct): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), min(number), max(number), count(DISTINCT number) FROM tickets WHERE org_id = $1",
    )
    .bind(f.org.id.0)
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!((count, min, max, distinct), (400, 1, 400, 400));
    let next: i64 = sqlx::query_scalar("SELECT next_number FROM ticket_counters WHERE org_id = $1")
        .bind(f.org.id.0)
        .fetch_one(pg.pool())
        .await
        .unwrap();
    assert_eq!(next, 401, "the counter sits right after the last number");
}

/// Stops the database (or, when it is not ours to stop, kills every other connection) in the
/// middle of ingestion. Every delivery is retried by its sender (as Meta does) while the error
/// says a retry can help; afterwards each message is stored exactly once.
///
/// Runs on its own (tests/run.sh runs `exclusive_` tests after the rest): it takes the server
/// away from every other test.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exclusive_db_outage_mid_ingestion_is_retryable_and_loses_or_doubles_nothing() {
    let pg = store(8).await;
    let f = Arc::new(Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 2, 1000).await);
    // Senders keep delivering until the outage is over and at least MIN messages went out,
    // so the outage always lands in the middle of the traffic however fast the machine is.
    const MIN: usize = 400;
    let done = Arc::new(AtomicUsize::new(0));
    let outage_over = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let retryable_errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let (f, done, errs, over) = (
            f.clone(),
            done.clone(),
            retryable_errors.clone(),
            outage_over.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut stored) = (0usize, Vec::new());
            let mut i = w;
            while i < MIN || !over.load(Ordering::Relaxed) {
                // 40 contacts.
                let phone = format!("55119{:08}", i % 40);
                let m = f.whatsapp(&format!("wamid.outage.{i}"), &phone, &format!("m{i}"));
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    match f.hd.ingest(m.clone()).await {
                        Ok(r) => {
                            if !r.duplicate {
                                stored.push(i);
                            }
                            break;
                        }
                        Err(e) => {
                            assert!(e.is_retryable(), "an outage error must say retry: {e}");
                            assert!(attempts < 600, "message {i} never got through: {e}");
                            errs.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                sent += 1;
                done.fetch_add(1, Ordering::Relaxed);
                i += 8;
            }
            (sent, stored)
        }));
    }
    // Let ingestion get going, then take the database away for a while.
    while done.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mode = outage(&pg).await;
    outage_over.store(true, Ordering::Relaxed);
    let (mut n, mut stored) = (0usize, Vec::new());
    for t in tasks {
        let (sent, s) = t.await.unwrap();
        n += sent;
        stored.extend(s);
    }
    assert!(
        retryable_errors.load(Ordering::Relaxed) > 0,
        "the outage ({mode}) happened while messages were in flight"
    );
    // A delivery whose commit succeeded but whose answer was lost is stored and then seen as a
    // duplicate on retry: `stored` may miss it, the table may not.
    let uniq: HashSet<usize> = stored.iter().copied().collect();
    assert_eq!(uniq.len(), stored.len(), "no message reported stored twice");
    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT external_id) FROM messages WHERE org_id = $1 AND external_id LIKE 'wamid.outage.%'",
    )
    .bind(f.org.id.0)
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(
        (rows, distinct),
        (n as i64, n as i64),
        "every message once ({mode})"
    );
    let (contacts, live): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM contacts WHERE org_id = $1),
                (SELECT count(*) FROM tickets WHERE org_id = $1 AND status <> 'closed')",
    )
    .bind(f.org.id.0)
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(
        (contacts, live),
        (40, 40),
        "one contact and one ticket per sender"
    );
    let numbers: (i64, i64) =
        sqlx::query_as("SELECT count(*), COALESCE(max(number), 0) FROM tickets WHERE org_id = $1")
            .bind(f.org.id.0)
            .fetch_one(pg.pool())
            .await
            .unwrap();
    assert_eq!(numbers.0, numbers.1, "no number lost in the outage");
}

/// Stops and restarts the throwaway cluster through `HELPDESK_PG_CTL` (set by
/// tests/postgres.sh); on a server given by the environment, terminates every other
/// connection instead, which is what a crash looks like from the application.
async fn outage(pg: &PgStore) -> &'static str {
    if let Ok(ctl) = std::env::var("HELPDESK_PG_CTL") {
        let run = |arg: &'static str| {
            let ctl = ctl.clone();
            tokio::task::spawn_blocking(move || {
                let st = std::process::Command::new(&ctl)
                    .arg(arg)
                    .status()
                    .unwrap_or_else(|e| panic!("{ctl} {arg}: {e}"));
                assert!(st.success(), "{ctl} {arg} failed");
            })
        };
        run("stop").await.expect("pg_ctl stop task");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        run("start").await.expect("pg_ctl start task");
        "server stopped for 1.5 s and restarted"
    } else {
        for _ in 0..3 {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .execute(pg.pool())
            .await
            .expect("terminate backends");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        "every connection terminated three times"
    }
}

/// Configuration changes keep working while tickets are assigned: each assignment advances
/// the queue's rotation (a new queue version), so a queue change races with them and must be
/// run again when it loses, never reach the admin as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_settings_change_while_tickets_are_assigned_in_that_queue() {
    let pg = store(8).await;
    let f = Arc::new(Fixture::new(Arc::new(pg.clone()) as Arc<dyn Store>, 4, 1000).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let assigned = Arc::new(AtomicUsize::new(0));
    let mut traffic = Vec::new();
    for w in 0..4 {
        let (f, stop, assigned) = (f.clone(), stop.clone(), assigned.clone());
        traffic.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::SeqCst) {
                let t = f.open_ticket(i).await;
                assert!(t.assignee_id.is_some(), "assigned by round robin");
                assigned.fetch_add(1, Ordering::SeqCst);
                i += 4;
            }
        }));
    }
    // Wait until assignments are flowing, then change the queue's settings over and over.
    while assigned.load(Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = assigned.load(Ordering::SeqCst);
    for _ in 0..20 {
        f.hd.set_queue_sla_policy(f.org.id, &f.admin, f.queue.id, None)
            .await
            .expect("an SLA policy change under traffic");
        f.hd.update_queue(
            f.org.id,
            &f.admin,
            f.queue.id,
            helpdesk_core::service::QueueChanges {
                color: Some(Some("#336699".into())),
                ..Default::default()
            },
        )
        .await
        .expect("a queue edit under traffic");
    }
    let during = assigned.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    for t in traffic {
        t.await.unwrap();
    }
    assert!(
        during > 0,
        "tickets were assigned while the settings changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_migrate_a_fresh_database_at_once() {
    let admin = store(1).await;
    let name = format!("helpdesk_migrate_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .expect("create database");
    let opts = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&url())
        .expect("DATABASE_URL parses")
        .database(&name);
    let connect = |opts: sqlx::postgres::PgConnectOptions| async move {
        PgStore::from_pool(
            PgPoolOptions::new()
                .max_connections(2)
                .connect_with(opts)
                .await
                .expect("connect"),
        )
    };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            let s = connect(opts).await;
            s.migrate().await.expect("concurrent migrate succeeds");
            s.pool().close().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = connect(opts).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        helpdesk_sqlx::MIGRATOR.iter().count(),
        "each migration applied once"
    );
    s.pool().close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await
    .expect("drop database");
}

/// A reader paging through the outbox with `after` never passes an event that commits after
/// a later-numbered one: transaction A writes its event first but commits last.
#[tokio::test]
async fn paging_events_never_passes_one_that_commits_later() {
    use helpdesk_core::actor::Actor;
    use helpdesk_core::domain::records::Event;
    use helpdesk_core::ids::EventId;
    let pg = store(4).await;
    let store: Arc<dyn Store> = Arc::new(pg.clone());
    let f = Fixture::new(store.clone(), 0, 1).await;
    let org = f.org.id;
    let mut seen: Vec<EventId> = Vec::new();
    let page = |after: Option<EventId>| {
        let hd = f.hd.clone();
        async move { hd.events(org, after, 1000).await.unwrap() }
    };
    seen.extend(page(None).await.iter().map(|e| e.id));
    let event = |n: u64| Event {
        id: EventId::new(),
        org_id: org,
        kind: EventKind::TicketCreated,
        ticket_id: None,
        actor: Actor::System,
        payload: serde_json::json!({ "n": n }),
        occurred_at: f.hd.now(),
    };
    let (a, b) = (event(1), event(2));
    let mut tx_a = store.begin(org).await.unwrap();
    tx_a.insert_event(&a).await.unwrap();
    // A read sends A's kept-back write: its row (and number) exists, uncommitted.
    tx_a.events(None, 1).await.unwrap();
    let mut tx_b = store.begin(org).await.unwrap();
    tx_b.insert_event(&b).await.unwrap();
    tx_b.commit().await.unwrap();
    let first = page(seen.last().copied()).await;
    seen.extend(first.iter().map(|e| e.id));
    tx_a.commit().await.unwrap();
    let second = page(seen.last().copied()).await;
    seen.extend(second.iter().map(|e| e.id));
    assert!(
        seen.contains(&a.id) && seen.contains(&b.id),
        "pages {:?} then {:?}: every committed event is seen",
        first.iter().map(|e| &e.payload).collect::<Vec<_>>(),
        second.iter().map(|e| &e.payload).collect::<Vec<_>>()
    );
    assert_eq!(
        seen.iter()
            .filter(|id| **id == a.id || **id == b.id)
            .count(),
        2,
        "each once"
    );
}
