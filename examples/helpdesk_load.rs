//! Load generator for helpdesk_server: `cargo run --release --example helpdesk_load`.
//!
//! Without `HELPDESK_LOAD_URL` it starts the server in-process on a free port (Postgres when
//! `DATABASE_URL` is set, the in-memory store otherwise) with a stand-in Graph API, so it runs
//! with no setup. With `HELPDESK_LOAD_URL` it targets that server, which must share
//! `WHATSAPP_APP_SECRET`, `WHATSAPP_PHONE_NUMBER_ID` and `HELPDESK_API_TOKEN` with it.
//!
//! Traffic settings: `LOAD_CONTACTS` (default 200), `LOAD_MESSAGES` per contact (default 10),
//! `LOAD_CONCURRENCY` (default 16), `LOAD_REDELIVER_EVERY` (default 20: every 20th delivery is
//! posted twice). Prints accepted messages per second, delivery latency (p50/p90/p99/max) and
//! the count stored afterwards; exits 1 when stored ≠ accepted.

use helpdesk_core::clock::{Clock, SystemClock};
use helpdesk_examples::load::{LoadConfig, graph_stub, run};
use helpdesk_examples::server::{Config, build};

fn env_or(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}: {v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

async fn main_inner() -> Result<bool, String> {
    let contacts = env_or("LOAD_CONTACTS", 200)?;
    let messages = env_or("LOAD_MESSAGES", 10)?;
    let concurrency = env_or("LOAD_CONCURRENCY", 16)?;
    let redeliver_every = env_or("LOAD_REDELIVER_EVERY", 20)?;
    let now = SystemClock.now();
    let run_id = now.timestamp_millis() as u64 % 10_000;
    let target = std::env::var("HELPDESK_LOAD_URL").ok();
    let (base_url, secret, token, number, storage) = match target {
        Some(url) => {
            let need = |k: &str| {
                std::env::var(k)
                    .map_err(|_| format!("{k} is not set (needed with HELPDESK_LOAD_URL)"))
            };
            (
                url.trim_end_matches('/').to_owned(),
                need("WHATSAPP_APP_SECRET")?,
                need("HELPDESK_API_TOKEN")?,
                need("WHATSAPP_PHONE_NUMBER_ID")?,
                "external".to_owned(),
            )
        }
        None => {
            let graph = graph_stub().await.map_err(|e| e.to_string())?;
            let (secret, token, number) = ("load-secret", "load-token-0123456789", "5511900000001");
            let mut env = std::collections::HashMap::from([
                ("HELPDESK_API_TOKEN", token.to_owned()),
                ("WHATSAPP_VERIFY_TOKEN", "load".to_owned()),
                ("WHATSAPP_APP_SECRET", secret.to_owned()),
                ("WHATSAPP_ACCESS_TOKEN", "load".to_owned()),
                ("WHATSAPP_PHONE_NUMBER_ID", number.to_owned()),
                ("WHATSAPP_GRAPH_URL", graph),
            ]);
            if let Ok(db) = std::env::var("DATABASE_URL") {
                env.insert("DATABASE_URL", db);
            }
            let cfg = Config::from_env(|k| env.get(k).cloned()).map_err(|e| e.to_string())?;
            let app = build(&cfg).await?;
            let storage = app.storage.to_owned();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let url = format!(
                "http://{}",
                listener.local_addr().map_err(|e| e.to_string())?
            );
            tokio::spawn(helpdesk_examples::server::run(
                app,
                listener,
                std::future::pending(),
            ));
            (
                url,
                secret.to_owned(),
                token.to_owned(),
                number.to_owned(),
                storage,
            )
        }
    };
    eprintln!(
        "load: {contacts} contacts × {messages} messages, {concurrency} at once, against {base_url} ({storage})"
    );
    let report = run(&LoadConfig {
        base_url,
        app_secret: secret,
        api_token: token,
        phone_number_id: number,
        contacts,
        messages_per_contact: messages,
        concurrency,
        redeliver_every,
        run_id,
        sent_at: now.timestamp(),
    })
    .await?;
    println!(
        "accepted {} messages in {:.1} s: {:.0} messages/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} redeliveries, {} refused; stored {} in {} tickets",
        report.accepted,
        report.elapsed.as_secs_f64(),
        report.rate(),
        report.p50.as_secs_f64() * 1e3,
        report.p90.as_secs_f64() * 1e3,
        report.p99.as_secs_f64() * 1e3,
        report.max.as_secs_f64() * 1e3,
        report.redelivered,
        report.refused,
        report.stored,
        report.tickets,
    );
    println!("{}", report.to_json());
    Ok(report.stored == report.accepted)
}

#[tokio::main]
async fn main() {
    match main_inner().await {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("error: the server stored a different number of messages than it accepted");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
