//! The whole desk as a service: `cargo run --example helpdesk_server`.
//!
//! Settings come from the environment (see `support/server.rs`): `HELPDESK_BIND`,
//! `HELPDESK_API_TOKEN`, `WHATSAPP_VERIFY_TOKEN`, `WHATSAPP_APP_SECRET`,
//! `WHATSAPP_ACCESS_TOKEN`, `WHATSAPP_PHONE_NUMBER_ID`, `WHATSAPP_GRAPH_URL`, `DATABASE_URL`
//! (Postgres; without it the in-memory store), `HELPDESK_EVENT_URLS` and
//! `HELPDESK_EVENT_SECRET` (signed event webhooks). Stops gracefully on SIGTERM or Ctrl-C.

use helpdesk_examples::server::{Config, build, serve, spawn_workers};

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
    eprintln!("listening on http://{}", cfg.bind);
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = spawn_workers(app.state.hd.clone(), app.sink.clone(), stop_rx);
    let served = serve(app, listener, shutdown).await;
    // In-flight requests have finished; workers stop after their current item.
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    if let Err(e) = served {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
