//! The whole desk as a service: `cargo run --example helpdesk_server`.
//!
//! Settings come from the environment (see `support/server.rs`). Required:
//! `HELPDESK_API_TOKEN` (16 characters or more), `WHATSAPP_PHONE_NUMBER_ID` (digits),
//! `WHATSAPP_VERIFY_TOKEN`, `WHATSAPP_APP_SECRET`, `WHATSAPP_ACCESS_TOKEN`. Optional:
//! `HELPDESK_BIND` (default `127.0.0.1:8080`), `WHATSAPP_GRAPH_URL`, `DATABASE_URL`
//! (Postgres; without it the in-memory store), `HELPDESK_EVENT_URLS` with
//! `HELPDESK_EVENT_SECRET` (signed event webhooks). On first start it creates the organization
//! of the WhatsApp number, with a queue "Atendimento" and the inbox. Stops gracefully on
//! SIGTERM or Ctrl-C.
//!
//! ```bash
//! HELPDESK_API_TOKEN=local-token-0123456789 WHATSAPP_PHONE_NUMBER_ID=1234567890 \
//! WHATSAPP_VERIFY_TOKEN=verify WHATSAPP_APP_SECRET=secret WHATSAPP_ACCESS_TOKEN=token \
//! cargo run --example helpdesk_server
//! ```

use helpdesk_examples::server::{Config, build, run, terminate_signal};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
    let cfg = match Config::from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let app = match build(&cfg).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    if app.storage == "memory" {
        eprintln!(
            "storage: in-memory (DATABASE_URL is not set): data is lost when the process stops"
        );
    } else {
        eprintln!("storage: Postgres (migrations applied)");
    }
    let listener = match tokio::net::TcpListener::bind(cfg.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: HELPDESK_BIND: cannot listen on {}: {e}", cfg.bind);
            std::process::exit(1);
        }
    };
    let shutdown = match terminate_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install the signal handlers: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("listening on http://{}", cfg.bind);
    // In-flight requests finish; workers stop after their current item.
    if let Err(e) = run(app, listener, shutdown).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    eprintln!("stopped");
}
