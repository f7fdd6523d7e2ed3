//! The `helpdesk_load` example's parts: realistic WhatsApp webhook traffic, signed as Meta signs
//! it, posted at a helpdesk_server; latency per delivery; and the count of what the server
//! stored afterwards, read back through the REST API.
//!
//! Traffic: `contacts` customers each send `messages_per_contact` text messages, in order (as
//! Meta delivers one conversation), so a customer's first message opens a ticket (routing,
//! assignment, greeting through the Graph API) and the rest continue it. `concurrency`
//! customers write at once. Every `redeliver_every`-th delivery is posted a second time, as
//! Meta does when an acknowledgement is slow; a delivery that gets anything but 200 is retried
//! (up to 5 times), as Meta retries. A message counts as accepted once, when a delivery of it
//! got 200.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What to send, and where.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// `WHATSAPP_APP_SECRET` of the server (deliveries are signed with it).
    pub app_secret: String,
    /// `HELPDESK_API_TOKEN` of the server (to count what was stored).
    pub api_token: String,
    /// `WHATSAPP_PHONE_NUMBER_ID` of the server.
    pub phone_number_id: String,
    /// Customers.
    pub contacts: usize,
    /// Messages per customer.
    pub messages_per_contact: usize,
    /// Customers writing at once.
    pub concurrency: usize,
    /// Post every n-th delivery twice (0: never).
    pub redeliver_every: usize,
    /// Makes this run's customers and message ids unique (runs on one database do not mix).
    pub run_id: u64,
    /// Unix time of the customers' first messages (each next one a second later).
    pub sent_at: i64,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Distinct messages the server accepted (200).
    pub accepted: usize,
    /// HTTP deliveries posted (redeliveries and retries included).
    pub posted: usize,
    /// Deliveries answered with something other than 200 (retried).
    pub refused: usize,
    /// Redeliveries of a message already accepted.
    pub redelivered: usize,
    /// Wall time of the traffic.
    pub elapsed: Duration,
    /// Latency of a delivery: median, 90th, 99th percentile and worst.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Worst.
    pub max: Duration,
    /// Distinct inbound messages of this run the server has stored (read back over the API).
    pub stored: usize,
    /// Tickets of this run.
    pub tickets: usize,
}

impl LoadReport {
    /// Accepted messages per second.
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// One line of JSON (for scripts).
    pub fn to_json(&self) -> Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
        json!({
            "accepted": self.accepted, "posted": self.posted, "refused": self.refused,
            "redelivered": self.redelivered, "seconds": self.elapsed.as_secs_f64(),
            "messagesPerSecond": self.rate().round(), "p50Ms": ms(self.p50), "p90Ms": ms(self.p90),
            "p99Ms": ms(self.p99), "maxMs": ms(self.max), "stored": self.stored,
            "tickets": self.tickets, "storedEqualsAccepted": self.stored == self.accepted,
        })
    }
}

/// A Cloud API webhook with one text message, as Meta sends it.
pub fn message_payload(
    phone_number_id: &str,
    wa_id: &str,
    name: &str,
    message_id: &str,
    text: &str,
    timestamp: i64,
) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{
                        "from": wa_id, "id": message_id, "timestamp": timestamp.to_string(),
                        "type": "text", "text": {"body": text}
                    }]
                }
            }]
        }]
    })
    .to_string()
}

/// What customers write (a Brazilian support desk's usual openings and follow-ups).
const TEXTS: [&str; 6] = [
    "Olá, minha internet caiu de novo desde ontem à noite",
    "Já reiniciei o modem e nada",
    "Meu CPF está no cadastro, podem verificar?",
    "Preciso da segunda via do boleto",
    "Alguém pode me ajudar?",
    "Obrigado!",
];

fn wa_id(cfg: &LoadConfig, contact: usize) -> String {
    // A valid Brazilian mobile (+55 11 9xxxx-xxxx), distinct per run and customer.
    let n = (cfg.run_id % 10_000) * 10_000 + contact as u64 % 10_000;
    format!("55119{n:08}")
}

fn message_id(cfg: &LoadConfig, contact: usize, k: usize) -> String {
    format!("wamid.load.{}.{contact}.{k}", cfg.run_id)
}

/// Runs the traffic, then counts what the server stored. Fails only when the server cannot be
/// reached or a message is refused 5 times.
pub async fn run(cfg: &LoadConfig) -> Result<LoadReport, String> {
    if cfg.contacts > 10_000 {
        return Err("at most 10,000 contacts per run".into());
    }
    let http = reqwest::Client::new();
    let url = format!("{}/webhooks/whatsapp", cfg.base_url);
    let next = Arc::new(AtomicUsize::new(0));
    let start_ts = cfg.sent_at;
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..cfg.concurrency.max(1) {
        let (cfg, http, url, next) = (cfg.clone(), http.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut accepted, mut posted, mut refused, mut redelivered) = (0, 0, 0, 0);
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= cfg.contacts {
                    break;
                }
                for k in 0..cfg.messages_per_contact {
                    let body = message_payload(
                        &cfg.phone_number_id,
                        &wa_id(&cfg, c),
                        &format!("Cliente {} {c}", cfg.run_id),
                        &message_id(&cfg, c, k),
                        TEXTS[(c + k) % TEXTS.len()],
                        start_ts + k as i64,
                    );
                    let sig = helpdesk_whatsapp::webhook::sign(
                        cfg.app_secret.as_bytes(),
                        body.as_bytes(),
                    );
                    let seq = c * cfg.messages_per_contact + k;
                    let copies = if cfg.redeliver_every > 0 && seq % cfg.redeliver_every == 0 {
                        2
                    } else {
                        1
                    };
                    for copy in 0..copies {
                        let mut ok = false;
                        for attempt in 0..5u32 {
                            let t = Instant::now();
                            let r = http
                                .post(&url)
                                .header("x-hub-signature-256", &sig)
                                .header("content-type", "application/json")
                                .body(body.clone())
                                .send()
                                .await;
                            lat.push(t.elapsed());
                            posted += 1;
                            match r {
                                Ok(r) if r.status().as_u16() == 200 => {
                                    ok = true;
                                    break;
                                }
                                Ok(_) => refused += 1,
                                Err(e) if attempt == 4 => {
                                    return Err(format!("cannot reach {url}: {e}"));
                                }
                                Err(_) => refused += 1,
                            }
                            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                        }
                        if !ok {
                            return Err(format!("{} refused 5 times", message_id(&cfg, c, k)));
                        }
                        if copy == 0 {
                            accepted += 1;
                        } else {
                            redelivered += 1;
                        }
                    }
                }
            }
            Ok::<_, String>((lat, accepted, posted, refused, redelivered))
        }));
    }
    let mut lat = Vec::new();
    let (mut accepted, mut posted, mut refused, mut redelivered) = (0, 0, 0, 0);
    for w in workers {
        let (l, a, p, r, d) = w.await.map_err(|e| e.to_string())??;
        lat.extend(l);
        accepted += a;
        posted += p;
        refused += r;
        redelivered += d;
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| -> Duration {
        if lat.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank.
        let rank = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
        lat[rank - 1]
    };
    let (stored, tickets) = count_stored(cfg, &http).await?;
    Ok(LoadReport {
        accepted,
        posted,
        refused,
        redelivered,
        elapsed,
        p50: pct(0.50),
        p90: pct(0.90),
        p99: pct(0.99),
        max: lat.last().copied().unwrap_or_default(),
        stored,
        tickets,
    })
}

/// Reads back this run's inbound messages: its tickets (searched by the run's customer name),
/// then each ticket's messages.
async fn count_stored(cfg: &LoadConfig, http: &reqwest::Client) -> Result<(usize, usize), String> {
    let get = |path: String| {
        let req = http
            .get(format!("{}{path}", cfg.base_url))
            .bearer_auth(&cfg.api_token);
        async move {
            let r = req.send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {v}"));
            }
            Ok::<Value, String>(v)
        }
    };
    let prefix = format!("wamid.load.{}.", cfg.run_id);
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/tickets?pageSize=100&q=Cliente%20{}", cfg.run_id);
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get(path).await?;
        for i in page["items"].as_array().into_iter().flatten() {
            ids.extend(i["id"].as_str().map(str::to_owned));
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut seen = std::collections::HashSet::new();
    for id in &ids {
        let msgs = get(format!("/api/v1/tickets/{id}/messages")).await?;
        for m in msgs["items"].as_array().into_iter().flatten() {
            if m["direction"] == "inbound"
                && let Some(x) = m["externalId"].as_str().filter(|x| x.starts_with(&prefix))
            {
                // A message stored twice would show here twice.
                if !seen.insert(x.to_owned()) {
                    return Err(format!("{x} is stored twice"));
                }
            }
        }
    }
    Ok((seen.len(), ids.len()))
}

/// A stand-in for the Graph API (answers every send with a message id), for runs that start
/// the server in-process. Returns its base URL.
pub async fn graph_stub() -> std::io::Result<String> {
    use axum::routing::post;
    let counter = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/{*path}",
        post(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                axum::Json(json!({
                    "messaging_product": "whatsapp",
                    "messages": [{"id": format!("wamid.stub.{n}")}]
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}
