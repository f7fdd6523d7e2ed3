//! helpdesk_server over HTTP (first slice of issue 7): configuration errors name the setting;
//! the webhook handshake, signed fixtures and forged signatures; the REST API's bearer token,
//! ticket creation, listing with filters and lookup; the JSON error shape. Runs on
//! the in-memory store and on Postgres (DATABASE_URL, provided by tests/run.sh).

// Test helpers panic on setup failures.
#![allow(clippy::unwrap_used)]

use helpdesk_examples::server::{Config, build, serve};
use serde_json::{Value, json};
use std::collections::HashMap;
use wiremock::MockServer;

const TOKEN: &str = "test-token-0123456789";
const SECRET: &str = "app-secret";
const PHONE_NUMBER_ID: &str = "1122334455667";

/// The Postgres the tests use; never skipped: without it the test fails and says how to get one.
fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
    })
}

/// A random number per call, so runs on a long-lived database do not collide.
fn unique() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8) % 100_000_000
}

fn env(overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = [
        ("HELPDESK_API_TOKEN", TOKEN),
        ("WHATSAPP_VERIFY_TOKEN", "verify-me"),
        ("WHATSAPP_APP_SECRET", SECRET),
        ("WHATSAPP_ACCESS_TOKEN", "graph-token"),
        ("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

#[test]
fn a_missing_or_invalid_setting_is_named() {
    let cfg = |o: &[(&str, &str)], drop: &str| {
        let mut e = env(o);
        e.remove(drop);
        Config::from_env(|k| e.get(k).cloned())
    };
    assert_eq!(
        cfg(&[], "HELPDESK_API_TOKEN").unwrap_err().name,
        "HELPDESK_API_TOKEN"
    );
    assert_eq!(
        cfg(&[], "WHATSAPP_APP_SECRET").unwrap_err().name,
        "WHATSAPP_APP_SECRET"
    );
    assert_eq!(
        cfg(&[("HELPDESK_BIND", "localhost")], "").unwrap_err().name,
        "HELPDESK_BIND"
    );
    assert_eq!(
        cfg(&[("WHATSAPP_GRAPH_URL", "graph")], "")
            .unwrap_err()
            .name,
        "WHATSAPP_GRAPH_URL"
    );
    assert_eq!(
        cfg(&[("WHATSAPP_PHONE_NUMBER_ID", "abc")], "")
            .unwrap_err()
            .name,
        "WHATSAPP_PHONE_NUMBER_ID"
    );
    assert_eq!(
        cfg(&[("HELPDESK_API_TOKEN", "short")], "")
            .unwrap_err()
            .name,
        "HELPDESK_API_TOKEN"
    );
    let ok = cfg(&[], "").unwrap();
    assert_eq!(ok.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(ok.graph_url, "https://graph.facebook.com");
}

struct Running {
    base: String,
    http: reqwest::Client,
    graph: MockServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A server whose default organization owns `phone_number_id` (tests that run at once on one
/// database use different numbers, so their organizations do not mix).
async fn start(database_url: Option<String>, phone_number_id: &str) -> Running {
    let graph = MockServer::start().await;
    let mut e = env(&[
        ("WHATSAPP_GRAPH_URL", &graph.uri()),
        ("WHATSAPP_PHONE_NUMBER_ID", phone_number_id),
    ]);
    if let Some(u) = database_url {
        e.insert("DATABASE_URL".into(), u);
    }
    let cfg = Config::from_env(|k| e.get(k).cloned()).unwrap();
    let app = build(&cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(app, listener, async {
        let _ = rx.await;
    }));
    Running {
        base,
        http: reqwest::Client::new(),
        graph,
        stop: Some(tx),
        task,
    }
}

impl Running {
    async fn get(&self, path: &str, auth: bool) -> (u16, Value) {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if auth {
            r = r.bearer_auth(TOKEN);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn webhook(&self, body: &[u8], signature: &str) -> u16 {
        self.http
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("x-hub-signature-256", signature)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Delivers `body` to the webhook signed with the app secret, as Meta does.
    async fn webhook_signed(&self, body: &str) -> u16 {
        let sig = helpdesk_whatsapp::webhook::sign(SECRET.as_bytes(), body.as_bytes());
        self.webhook(body.as_bytes(), &sig).await
    }

    /// [`Running::webhook_signed`] as a task, for deliveries that arrive at once.
    fn spawn_webhook_signed(&self, body: String) -> tokio::task::JoinHandle<u16> {
        let (http, url) = (
            self.http.clone(),
            format!("{}/webhooks/whatsapp", self.base),
        );
        tokio::spawn(async move {
            let sig = helpdesk_whatsapp::webhook::sign(SECRET.as_bytes(), body.as_bytes());
            http.post(url)
                .header("x-hub-signature-256", sig)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn the_desk_over_http(database_url: Option<String>) {
    // The fixture's number.
    let s = start(database_url, PHONE_NUMBER_ID).await;
    // Handshake.
    let r = s
        .http
        .get(format!("{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "12345".to_owned())
    );
    // A signed fixture opens a ticket; a forged one is refused and stores nothing. The message
    // id is made unique so runs on a shared database do not collide.
    // The sender too (number and user id): on a database kept from an earlier run, the
    // fixture's sender would still have its live ticket there, and the message would
    // continue it.
    let message_id = format!("wamid.server.{}", unique());
    let sender = format!("97250{:07}", unique() % 10_000_000);
    let raw = include_str!("../../helpdesk-whatsapp/tests/fixtures/inbound_text.json")
        .replace("wamid.xyzxyz", &message_id)
        .replace("972987654321", &sender)
        .replace("US.13491208655302741918", &format!("US.{}", unique()));
    assert_eq!(s.webhook(raw.as_bytes(), "sha256=00ff").await, 401);
    let (_, before) = s.get("/api/v1/tickets", true).await;
    assert_eq!(s.webhook_signed(&raw).await, 200);
    assert_eq!(
        s.webhook_signed(&raw).await,
        200,
        "a redelivery is acknowledged"
    );
    let (status, list) = s.get("/api/v1/tickets", true).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["total"].as_u64().unwrap(),
        before["total"].as_u64().unwrap() + 1,
        "one ticket for the message, none for the forged or repeated delivery"
    );
    // The bearer token guards the API; errors have one JSON shape.
    let (status, err) = s.get("/api/v1/tickets", false).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, err) = s
        .get("/api/v1/tickets/0190a8c4-0000-7000-8000-000000000000", true)
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    // A query parameter that does not parse is a 400 naming it.
    let (status, err) = s.get("/api/v1/tickets?source=both", true).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("source")),
        "{err}"
    );
    assert!(err["error"]["message"].as_str().is_some());
    let (status, err) = s.get("/api/v1/tickets?pageSize=many", true).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("query")),
        "{err}"
    );
    // The create body, then the list with its filters and facets.
    let phone = format!("+55119{:08}", unique());
    let (status, created) = s
        .post_json(
            "/api/v1/tickets",
            &json!({"lead": {"name": "João Silva", "phone": phone, "email": null},
                    "ticket": {"utmSource": "google", "utmMedium": "cpc", "utmCampaign": "lead_gen",
                               "gclid": "EAIaIQobChMI", "sourceType": "paid", "dealValue": 1500.00}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, again) = s
        .post_json("/api/v1/tickets", &json!({"lead": {"phone": phone}}))
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("already_exists")),
        "{again}"
    );
    let (_, bad) = s
        .post_json(
            "/api/v1/tickets",
            &json!({"lead": {"phone": phone}, "extra": 1}),
        )
        .await;
    assert_eq!(bad["error"]["field"], "body");
    let (status, one) = s
        .get(
            &format!("/api/v1/tickets/{}", created["id"].as_str().unwrap()),
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["number"], created["number"]);
    assert!(one.get("slaState").is_some());
    let (_, google) = s
        .get("/api/v1/tickets?origin=google&source=paid&pageSize=5", true)
        .await;
    let items = google["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == created["id"]
        && i["dealValue"] == 1500.0
        && i["leadName"] == "João Silva"));
    assert!(
        google["origins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "google")
    );
    assert!(google["stages"].as_array().is_some_and(|s| !s.is_empty()));
    let (_, q) = s.get("/api/v1/tickets?q=jo%C3%A3o%20silva", true).await;
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == created["id"])
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_over_http_in_memory() {
    the_desk_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_over_http_on_postgres() {
    let url = database_url();
    the_desk_over_http(Some(url)).await;
}

async fn a_ticket_through_its_life_over_http(database_url: Option<String>) {
    use reqwest::Method;
    let s = start(database_url, "2233445566778").await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"/messages$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT1"}]})))
        .mount(&s.graph)
        .await;
    let phone = format!("+55219{:08}", unique());
    let (status, created) = s
        .post_json(
            "/api/v1/tickets",
            &json!({"lead": {"name": "Ana", "phone": phone},
            "ticket": {"utmSource": "google", "gclid": "G-123"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let t = |p: &str| format!("/api/v1/tickets/{id}{p}");
    // A note stays inside; a reply reaches the Graph API with the text.
    let (st, note) = s
        .send(
            Method::POST,
            &t("/messages"),
            Some(json!({"text": "cliente VIP", "isInternal": true})),
        )
        .await;
    assert_eq!(st, 201, "{note}");
    assert!(
        s.graph.received_requests().await.unwrap().is_empty(),
        "a note is never sent"
    );
    let (st, reply) = s
        .send(
            Method::POST,
            &t("/messages"),
            Some(json!({"text": "Olá Ana, como posso ajudar?"})),
        )
        .await;
    assert_eq!(st, 201, "{reply}");
    let sent = s.graph.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["text"]["body"], "Olá Ana, como posso ajudar?");
    assert_eq!(body["to"], phone.trim_start_matches('+'));
    let (_, msgs) = s.get(&t("/messages"), true).await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 2);
    // Lifecycle with SLA state on the way.
    let (st, p) = s
        .send(
            Method::PATCH,
            &t(""),
            Some(json!({"priority": "urgent", "dealValue": 99.9})),
        )
        .await;
    assert_eq!((st, p["priority"].as_str()), (200, Some("urgent")), "{p}");
    // The ticket view speaks camelCase.
    assert_eq!(p["dealValue"]["minor"], 9990, "{p}");
    assert!(
        p.get("deal_value").is_none() && p["createdAt"].is_string(),
        "{p}"
    );
    for (action, status) in [
        ("pending", "pending"),
        ("resolve", "resolved"),
        ("reopen", "open"),
        ("resolve", "resolved"),
        ("close", "closed"),
    ] {
        let (st, v) = s.send(Method::POST, &t(&format!("/{action}")), None).await;
        assert_eq!(
            (st, v["status"].as_str()),
            (200, Some(status)),
            "{action}: {v}"
        );
        let (_, one) = s.get(&t(""), true).await;
        assert!(one.get("slaState").is_some(), "{one}");
    }
    // The list filters beyond the basic ones: status (several), priority, assignee.
    let listed = |v: &Value| {
        v["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["id"] == created["id"]))
    };
    let (_, closed) = s
        .get(
            "/api/v1/tickets?status=resolved,closed&priority=urgent&assigneeId=none&pageSize=100",
            true,
        )
        .await;
    assert!(listed(&closed), "{closed}");
    let (_, open) = s
        .get("/api/v1/tickets?status=open&pageSize=100", true)
        .await;
    assert!(
        !listed(&open),
        "a closed ticket is not listed as open: {open}"
    );
    let (_, low) = s
        .get("/api/v1/tickets?priority=low&pageSize=100", true)
        .await;
    assert!(!listed(&low), "{low}");
    let (st, err) = s.get("/api/v1/tickets?status=opn", true).await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (400, Some("status")),
        "{err}"
    );
    let (st, err) = s.get("/api/v1/tickets?assigneeId=x", true).await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (400, Some("assigneeId")),
        "{err}"
    );
    let (st, err) = s.send(Method::POST, &t("/pending"), None).await;
    assert_eq!(
        (st, err["error"]["code"].as_str()),
        (409, Some("conflict")),
        "closed → pending is refused: {err}"
    );
    let (st, err) = s.send(Method::POST, &t("/explode"), None).await;
    assert_eq!(st, 404, "{err}");
    let (st, err) = s.send(Method::POST, &t("/assign"), Some(json!({}))).await;
    assert_eq!((st, err["error"]["field"].as_str()), (400, Some("agentId")));
    let (st, rated) = s
        .send(
            Method::POST,
            &t("/rating"),
            Some(json!({"score": 5, "feedback": "ótimo"})),
        )
        .await;
    assert_eq!(
        (st, rated["rating"]["score"].as_u64()),
        (200, Some(5)),
        "{rated}"
    );
    let (st, err) = s
        .send(Method::POST, &t("/rating"), Some(json!({"score": 9})))
        .await;
    assert_eq!(st, 422, "{err}");
    // Inbounds and analytics.
    let (_, inb) = s
        .get("/api/v1/tickets/inbounds?clickId=gclid&pageSize=100", true)
        .await;
    assert!(
        inb["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == created["id"] && i["gclid"] == "G-123"),
        "{inb}"
    );
    let (st, a) = s.get("/api/v1/analytics/overview?dateRange=7d", true).await;
    assert_eq!(st, 200, "{a}");
    assert!(
        a["overview"]["created"].as_u64().unwrap() >= 1
            && a["csat"]["responses"].as_u64().unwrap() >= 1,
        "{a}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_through_its_life_in_memory() {
    a_ticket_through_its_life_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_through_its_life_on_postgres() {
    let url = database_url();
    a_ticket_through_its_life_over_http(Some(url)).await;
}

/// Two instances on one database, both running the outbox relay: a subscriber gets each event
/// of the tenant exactly once, signed. Runs alone (`exclusive_`): other tests' relays would
/// otherwise deliver this tenant's events to their own sinks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exclusive_events_reach_subscribers_signed_once_across_two_instances() {
    let url = database_url();
    let subscriber = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&subscriber)
        .await;
    let graph = MockServer::start().await;
    let number = format!("9{:08}", unique());
    let e = env(&[
        ("WHATSAPP_GRAPH_URL", &graph.uri()),
        ("WHATSAPP_PHONE_NUMBER_ID", &number),
        ("DATABASE_URL", &url),
        (
            "HELPDESK_EVENT_URLS",
            &format!("{}/events", subscriber.uri()),
        ),
        ("HELPDESK_EVENT_SECRET", "event-secret"),
    ]);
    let cfg = Config::from_env(|k| e.get(k).cloned()).unwrap();
    let a = build(&cfg).await.unwrap();
    let b = build(&cfg).await.unwrap();
    assert_eq!(
        a.state.org, b.state.org,
        "both instances serve the number's organization"
    );
    let org = a.state.org;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = helpdesk_examples::server::spawn_workers(
        a.state.hd.clone(),
        a.sink.clone(),
        stop_rx.clone(),
    );
    workers.extend(helpdesk_examples::server::spawn_workers(
        b.state.hd.clone(),
        b.sink.clone(),
        stop_rx,
    ));
    // Traffic on both instances.
    for (i, app) in [&a, &b, &a, &b].into_iter().enumerate() {
        app.state
            .hd
            .create_ticket(
                org,
                &helpdesk_core::actor::Actor::System,
                helpdesk_core::service::NewTicket::new(helpdesk_core::service::LeadInput::phone(
                    format!("+55319{:08}", unique() + i as u64),
                )),
            )
            .await
            .unwrap();
    }
    let expected = a.state.hd.events(org, None, 1000).await.unwrap().len();
    assert!(expected >= 4);
    let mut mine: Vec<Value> = Vec::new();
    // The relays work through the whole outbox (other tests' tenants too): allow a minute.
    for _ in 0..1200 {
        mine = subscriber
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                (body["org_id"] == json!(org)).then(|| {
                    let sig = r
                        .headers
                        .get("x-helpdesk-signature-256")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_owned();
                    assert_eq!(
                        sig,
                        helpdesk_whatsapp::webhook::sign(b"event-secret", &r.body),
                        "signed body"
                    );
                    assert_eq!(
                        r.headers
                            .get("x-helpdesk-event-id")
                            .unwrap()
                            .to_str()
                            .unwrap(),
                        body["id"].as_str().unwrap()
                    );
                    assert_eq!(
                        r.headers.get("x-helpdesk-event-version").unwrap(),
                        "1",
                        "payload version"
                    );
                    body
                })
            })
            .collect();
        if mine.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Give a duplicate (if any) time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let all: Vec<String> = subscriber
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["org_id"] == json!(org))
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    let mut unique_ids = all.clone();
    unique_ids.sort();
    unique_ids.dedup();
    assert_eq!(mine.len(), expected, "every event delivered");
    assert_eq!(
        unique_ids.len(),
        all.len(),
        "no event delivered twice across instances"
    );
    let _ = stop_tx.send(true);
    for w in workers {
        w.await.unwrap();
    }
}

/// The fixture as a payload for `number`, from contact `k` with message `id`.
fn payload(number: &str, k: u64, id: &str) -> String {
    include_str!("../../helpdesk-whatsapp/tests/fixtures/inbound_text.json")
        .replace("1122334455667", number)
        .replace("972987654321", &format!("55119{k:08}"))
        .replace("US.13491208655302741918", &format!("BR.{k}"))
        .replace("wamid.xyzxyz", id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_assign_round_robin_exactly() {
    use reqwest::Method;
    let url = database_url();
    let number = format!("8{:08}", unique());
    let (a, b) = tokio::join!(start(Some(url.clone()), &number), start(Some(url), &number));
    let (_, queues) = a.get("/api/v1/queues", true).await;
    let queue = queues[0]["id"].as_str().unwrap().to_owned();
    let mut agents = Vec::new();
    for i in 0..3 {
        let (st, ag) = a
            .send(Method::POST, "/api/v1/agents", Some(json!({"name": format!("Agente {i}"),
                "email": format!("agente{i}.{number}@example.com"), "role": "agent", "capacity": 100, "presence": "online"})))
            .await;
        assert_eq!(st, 201, "{ag}");
        let (st, m) = b
            .send(
                Method::POST,
                &format!("/api/v1/queues/{queue}/members"),
                Some(json!({"agentId": ag["id"]})),
            )
            .await;
        assert_eq!(st, 201, "{m}");
        agents.push(ag["id"].as_str().unwrap().to_owned());
    }
    // 30 first messages from 30 new contacts, half through each instance, all at once.
    let base = unique();
    let mut tasks = Vec::new();
    for k in 0..30u64 {
        let s = if k % 2 == 0 { &a } else { &b };
        let body = payload(&number, base + k, &format!("wamid.rr.{number}.{k}"));
        tasks.push(s.spawn_webhook_signed(body));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, list) = a.get("/api/v1/tickets?pageSize=100", true).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    let mut per: HashMap<String, usize> = HashMap::new();
    for i in items {
        *per.entry(
            i["assigneeId"]
                .as_str()
                .expect("every ticket assigned")
                .to_owned(),
        )
        .or_default() += 1;
    }
    let counts: Vec<usize> = agents
        .iter()
        .map(|id| per.get(id).copied().unwrap_or(0))
        .collect();
    assert_eq!(
        counts,
        [10, 10, 10],
        "round robin is exact across instances"
    );
    a.stop().await;
    b.stop().await;
}

async fn duplicates_and_pages_over_http(database_url: Option<String>) {
    let number = format!("7{:08}", unique());
    let s = start(database_url, &number).await;
    // The same payload 10 times at once: one message, one ticket.
    let body = payload(&number, unique(), &format!("wamid.dup.{number}"));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        tasks.push(s.spawn_webhook_signed(body.clone()));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, list) = s.get("/api/v1/tickets", true).await;
    assert_eq!(list["total"], 1, "{list}");
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, msgs) = s.get(&format!("/api/v1/tickets/{id}/messages"), true).await;
    let inbound = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .count();
    assert_eq!(inbound, 1, "stored once");
    // 23 more tickets, then pages of 5 by cursor: every ticket once, newest first.
    for _ in 0..23 {
        let (st, c) = s
            .post_json(
                "/api/v1/tickets",
                &json!({"lead": {"phone": format!("+55419{:08}", unique())}}),
            )
            .await;
        assert_eq!(st, 201, "{c}");
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?pageSize=5&cursor={c}"),
            None => "/api/v1/tickets?pageSize=5".to_owned(),
        };
        let (st, page) = s.get(&path, true).await;
        assert_eq!(st, 200, "{page}");
        assert_eq!(page["total"], 24);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["number"].as_u64().unwrap()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (24, 24), "each ticket once");
    assert_eq!(seen, sorted, "newest first");
    let (st, err) = s.get("/api/v1/tickets?cursor=garbage", true).await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (400, Some("cursor")),
        "{err}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_and_pages_over_http_in_memory() {
    duplicates_and_pages_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_and_pages_over_http_on_postgres() {
    let url = database_url();
    duplicates_and_pages_over_http(Some(url)).await;
}

/// A status fixture for `number` about message `wamid`.
fn status_payload(fixture: &str, number: &str, wamid: &str) -> String {
    fixture
        .replace("1122334455667", number)
        .replace("wamid.xyzxyz", wamid)
}

async fn statuses_out_of_order_over_http(database_url: Option<String>) {
    use reqwest::Method;
    let number = format!("6{:08}", unique());
    let s = start(database_url, &number).await;
    let wamid = format!("wamid.OUT.{number}");
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"/messages$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "messages": [{"id": wamid}]})))
        .mount(&s.graph)
        .await;
    let (_, created) = s
        .post_json(
            "/api/v1/tickets",
            &json!({"lead": {"phone": format!("+55519{:08}", unique())}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .send(
            Method::POST,
            &format!("/api/v1/tickets/{id}/messages"),
            Some(json!({"text": "Olá"})),
        )
        .await;
    assert_eq!(st, 201);
    // Meta delivers read, then delivered, then sent.
    for fixture in [
        include_str!("../../helpdesk-whatsapp/tests/fixtures/status_read.json"),
        include_str!("../../helpdesk-whatsapp/tests/fixtures/status_delivered.json"),
        include_str!("../../helpdesk-whatsapp/tests/fixtures/status_sent.json"),
    ] {
        let body = status_payload(fixture, &number, &wamid);
        assert_eq!(s.webhook_signed(&body).await, 200);
    }
    let (_, msgs) = s.get(&format!("/api/v1/tickets/{id}/messages"), true).await;
    let out: Vec<&Value> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["externalId"], json!(wamid));
    assert_eq!(
        out[0]["status"], "read",
        "statuses never move backwards: {}",
        out[0]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_out_of_order_end_as_read_in_memory() {
    statuses_out_of_order_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_out_of_order_end_as_read_on_postgres() {
    let url = database_url();
    statuses_out_of_order_over_http(Some(url)).await;
}

/// The database goes away mid-traffic: the webhook answers 503 (Meta redelivers), and after
/// it is back the redeliveries store every message once. Stops the cluster through
/// `HELPDESK_PG_CTL` (tests/run.sh); on a server given by the environment, refuses new
/// connections and drops the open ones instead. Runs alone (`exclusive_`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exclusive_database_down_gives_503_and_redelivery_stores_everything_once() {
    let url = database_url();
    let number = format!("5{:08}", unique());
    let s = start(Some(url.clone()), &number).await;
    let base = unique();
    let payloads: Vec<String> = (0..20u64)
        .map(|k| payload(&number, base + k, &format!("wamid.down.{number}.{k}")))
        .collect();
    for p in &payloads[..10] {
        assert_eq!(s.webhook_signed(p).await, 200);
    }
    let ctl = std::env::var("HELPDESK_PG_CTL").ok();
    let opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let db = opts.get_database().unwrap_or("postgres").to_owned();
    let mut admin = <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(
        &opts.clone().database("template1"),
    )
    .await
    .unwrap();
    match &ctl {
        Some(c) => assert!(
            std::process::Command::new(c)
                .arg("stop")
                .status()
                .unwrap()
                .success()
        ),
        None => outage_without_ctl(&mut admin, &db, true).await,
    }
    // The other ten arrive during the outage, at once (each waits for the pool's timeout).
    let mut tasks = Vec::new();
    for p in &payloads[10..] {
        tasks.push(s.spawn_webhook_signed(p.clone()));
    }
    let mut refused = 0;
    for t in tasks {
        let code = t.await.unwrap();
        assert!(code == 503 || code == 200, "{code}");
        refused += usize::from(code == 503);
    }
    assert!(refused > 0, "the outage was answered 503");
    match &ctl {
        Some(c) => assert!(
            std::process::Command::new(c)
                .arg("start")
                .status()
                .unwrap()
                .success()
        ),
        None => outage_without_ctl(&mut admin, &db, false).await,
    }
    // Meta redelivers everything it did not get a 200 for (here: everything, twice over).
    for _ in 0..2 {
        for p in &payloads {
            let mut code = 0;
            for _ in 0..100 {
                code = s.webhook_signed(p).await;
                if code == 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(code, 200, "accepted once the database is back");
        }
    }
    let (_, list) = s.get("/api/v1/tickets?pageSize=100", true).await;
    assert_eq!(list["total"], 20, "one ticket per sender: {list}");
    for i in list["items"].as_array().unwrap() {
        let (_, msgs) = s
            .get(
                &format!("/api/v1/tickets/{}/messages", i["id"].as_str().unwrap()),
                true,
            )
            .await;
        let inbound = msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count();
        assert_eq!(inbound, 1, "each message stored once");
    }
    s.stop().await;
}

/// Without control of the server: refuse new connections to `db` and drop the open ones
/// (`down`), or allow connections again. `admin` is connected to another database.
async fn outage_without_ctl(admin: &mut sqlx::postgres::PgConnection, db: &str, down: bool) {
    let allow = if down { "false" } else { "true" };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS {allow}"
    )))
    .execute(&mut *admin)
    .await
    .unwrap();
    if down {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(db)
            .execute(&mut *admin)
            .await
            .unwrap();
    }
}

/// Records what a relay delivers (the events left after a shutdown).
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl helpdesk_core::service::EventSink for Recorder {
    async fn deliver(
        &self,
        event: &helpdesk_core::domain::records::Event,
    ) -> Result<(), helpdesk_core::service::SinkError> {
        self.0.lock().unwrap().push(event.id.to_string());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_work_finish() {
    use helpdesk_examples::server::{run, terminate_signal};
    use std::time::Duration;
    // A slow Graph API (the reply is in flight when SIGTERM arrives) and a slow subscriber
    // (the relay is delivering an event).
    let graph = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(
                    json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.SLOW"}]}),
                )
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&graph)
        .await;
    let subscriber = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_millis(700)))
        .mount(&subscriber)
        .await;
    let e = env(&[
        ("WHATSAPP_GRAPH_URL", &graph.uri()),
        (
            "HELPDESK_EVENT_URLS",
            &format!("{}/events", subscriber.uri()),
        ),
        ("HELPDESK_EVENT_SECRET", "event-secret"),
    ]);
    let cfg = Config::from_env(|k| e.get(k).cloned()).unwrap();
    let app = build(&cfg).await.unwrap();
    let (hd, org) = (app.state.hd.clone(), app.state.org);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(run(app, listener, terminate_signal().unwrap()));
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/api/v1/tickets"))
        .bearer_auth(TOKEN)
        .json(&json!({"lead": {"name": "Ana", "phone": "+5521987654321"}, "ticket": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let reply = tokio::spawn({
        let (http, url) = (http.clone(), format!("{base}/api/v1/tickets/{id}/messages"));
        async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .json(&json!({"text": "Já verifico, um momento"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    });
    // Both are in flight: the Graph API has the reply, the subscriber an event.
    for _ in 0..200 {
        if !graph.received_requests().await.unwrap().is_empty()
            && !subscriber.received_requests().await.unwrap().is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(graph.received_requests().await.unwrap().len(), 1);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The in-flight request finishes with the Graph API's answer…
    let (st, msg) = reply.await.unwrap();
    assert_eq!((st, msg["status"].as_str()), (201, Some("sent")), "{msg}");
    assert_eq!(msg["externalId"], "wamid.SLOW");
    // …the service stops (a hang here fails the test instead of blocking the run)…
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the server stops after SIGTERM")
        .unwrap()
        .unwrap();
    // …and takes no new requests.
    assert!(
        http.get(format!("{base}/api/v1/tickets"))
            .send()
            .await
            .is_err()
    );
    // The relay finished what it was delivering: those events are settled (never delivered
    // again), and every other event is still there for the next relay.
    let delivered: Vec<String> = subscriber
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!delivered.is_empty());
    let next = Recorder::default();
    let opts = helpdesk_core::service::RelayOptions::default();
    while hd.relay_events(&next, &opts).await.unwrap().claimed > 0 {}
    let later = next.0.lock().unwrap().clone();
    assert!(
        delivered.iter().all(|d| !later.contains(d)),
        "delivered before the stop and again after: {delivered:?} {later:?}"
    );
    let mut all: Vec<String> = hd
        .events(org, None, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    let mut seen: Vec<String> = delivered.into_iter().chain(later).collect();
    all.sort();
    seen.sort();
    assert_eq!(
        seen, all,
        "every event delivered exactly once across the restart"
    );
}

/// The load generator against a running server: every accepted message is stored once.
async fn load_generator_counts_what_it_sent(database_url: Option<String>) {
    use helpdesk_examples::load::{LoadConfig, run};
    let number = format!("7{:08}", unique());
    let s = start(database_url, &number).await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "messages": [{"id": "wamid.GREETING"}]})))
        .mount(&s.graph)
        .await;
    let report = run(&LoadConfig {
        base_url: s.base.clone(),
        app_secret: SECRET.into(),
        api_token: TOKEN.into(),
        phone_number_id: number,
        contacts: 12,
        messages_per_contact: 4,
        concurrency: 4,
        redeliver_every: 5,
        run_id: unique() % 10_000,
        sent_at: 1_790_000_000,
    })
    .await
    .unwrap();
    assert_eq!(report.accepted, 48, "{report:?}");
    assert!(report.redelivered >= 9, "{report:?}");
    assert_eq!(
        report.posted,
        report.accepted + report.redelivered + report.refused
    );
    assert_eq!(report.tickets, 12, "one ticket per customer: {report:?}");
    assert_eq!(report.stored, report.accepted, "{report:?}");
    assert!(report.p50 <= report.p99 && report.p99 <= report.max);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_generator_counts_what_it_sent_in_memory() {
    load_generator_counts_what_it_sent(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_generator_counts_what_it_sent_on_postgres() {
    load_generator_counts_what_it_sent(Some(database_url())).await;
}

/// Queues, agents, stages, canned responses and SLA policies: create, read, update, delete.
async fn configuration_over_http(database_url: Option<String>) {
    use reqwest::Method;
    let number = format!("6{:08}", unique());
    let s = start(database_url, &number).await;
    let (st, q) = s
        .post_json(
            "/api/v1/queues",
            &json!({"name": "Financeiro", "autoReplies": {"greeting": "Olá {{customer_name}}", "outOfHours": "Voltamos às 9h"}}),
        )
        .await;
    assert_eq!(st, 201, "{q}");
    assert_eq!(
        q["autoReplies"]["outOfHours"], "Voltamos às 9h",
        "camelCase in, camelCase out: {q}"
    );
    let qid = q["id"].as_str().unwrap().to_owned();
    let (st, p) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"name": "Cobrança", "distribution": "least_busy", "color": "#ff0000"})),
        )
        .await;
    assert_eq!(
        (st, p["name"].as_str(), p["distribution"].as_str()),
        (200, Some("Cobrança"), Some("least_busy")),
        "{p}"
    );
    assert_eq!(
        p["autoReplies"]["outOfHours"], "Voltamos às 9h",
        "fields left out stay"
    );
    // A change naming an unknown policy changes nothing (one transaction).
    let (st, err) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"name": "Outra", "slaPolicyId": "0190a8c4-0000-7000-8000-000000000000"})),
        )
        .await;
    assert_eq!(st, 404, "{err}");
    let (_, queues) = s.get("/api/v1/queues", true).await;
    assert!(
        queues
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == qid.as_str() && x["name"] == "Cobrança"),
        "{queues}"
    );
    let (st, err) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"nome": "x"})),
        )
        .await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (400, Some("body")),
        "{err}"
    );
    // An agent in the queue, then out of it, then deactivated.
    let (st, ag) = s
        .post_json(
            "/api/v1/agents",
            &json!({"name": "Bia", "email": format!("bia.{number}@example.com"), "role": "agent", "capacity": 5, "presence": "online"}),
        )
        .await;
    assert_eq!(st, 201, "{ag}");
    let aid = ag["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .post_json(
            &format!("/api/v1/queues/{qid}/members"),
            &json!({"agentId": aid}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, _) = s
        .send(
            Method::DELETE,
            &format!("/api/v1/queues/{qid}/members/{aid}"),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (st, a) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/agents/{aid}"),
            Some(json!({"capacity": 8, "role": "supervisor"})),
        )
        .await;
    assert_eq!(
        (st, a["capacity"].as_u64(), a["role"].as_str()),
        (200, Some(8), Some("supervisor")),
        "{a}"
    );
    let (st, a) = s
        .send(Method::DELETE, &format!("/api/v1/agents/{aid}"), None)
        .await;
    assert_eq!(
        (st, a["active"].as_bool(), a["presence"].as_str()),
        (200, Some(false), Some("offline")),
        "{a}"
    );
    // Stages: a new one, renamed, removed; the one holding a ticket stays.
    let (_, stages) = s.get("/api/v1/stages", true).await;
    let first = stages[0]["id"].as_str().unwrap().to_owned();
    let (st, stage) = s
        .post_json(
            "/api/v1/stages",
            &json!({"name": "Proposta", "color": "#00ff00", "position": 50}),
        )
        .await;
    assert_eq!(st, 201, "{stage}");
    let sid = stage["id"].as_str().unwrap().to_owned();
    let (st, stage) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/stages/{sid}"),
            Some(json!({"name": "Proposta enviada"})),
        )
        .await;
    assert_eq!(
        (st, stage["name"].as_str()),
        (200, Some("Proposta enviada")),
        "{stage}"
    );
    let (st, dup) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/stages/{sid}"),
            Some(json!({"name": stages[0]["name"]})),
        )
        .await;
    assert_eq!(
        (st, dup["error"]["code"].as_str()),
        (409, Some("already_exists")),
        "{dup}"
    );
    let (st, _) = s
        .send(Method::DELETE, &format!("/api/v1/stages/{sid}"), None)
        .await;
    assert_eq!(st, 204);
    let (st, t) = s
        .post_json(
            "/api/v1/tickets",
            &json!({"lead": {"phone": format!("+55319{:08}", unique())}, "ticket": {}}),
        )
        .await;
    assert_eq!(st, 201, "{t}");
    let (st, err) = s
        .send(Method::DELETE, &format!("/api/v1/stages/{first}"), None)
        .await;
    assert_eq!(
        (st, err["error"]["code"].as_str()),
        (409, Some("refused")),
        "{err}"
    );
    // A queue with a ticket stays; an empty one goes.
    let (st, err) = s
        .post_json(
            &format!("/api/v1/tickets/{}/transfer", t["id"].as_str().unwrap()),
            &json!({"queueId": qid}),
        )
        .await;
    assert_eq!(st, 200, "{err}");
    let (st, err) = s
        .send(Method::DELETE, &format!("/api/v1/queues/{qid}"), None)
        .await;
    assert_eq!(st, 409, "{err}");
    let (_, spare) = s
        .post_json("/api/v1/queues", &json!({"name": "Vazia"}))
        .await;
    let (st, _) = s
        .send(
            Method::DELETE,
            &format!("/api/v1/queues/{}", spare["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (_, queues) = s.get("/api/v1/queues", true).await;
    assert!(
        queues
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["id"] != spare["id"])
    );
    // Canned responses.
    let (_, c) = s
        .post_json(
            "/api/v1/canned-responses",
            &json!({"shortcut": "/boleto", "title": "Boleto", "body": "Segue o boleto"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let (st, c) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/canned-responses/{cid}"),
            Some(json!({"body": "Segue a segunda via"})),
        )
        .await;
    assert_eq!(
        (st, c["body"].as_str(), c["shortcut"].as_str()),
        (200, Some("Segue a segunda via"), Some("boleto")),
        "{c}"
    );
    // SLA policies: replaced whole; one a queue uses stays.
    let (st, p) = s
        .post_json(
            "/api/v1/sla-policies",
            &json!({"name": "Padrão", "firstResponseHours": 1}),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let (st, p) = s
        .send(
            Method::PUT,
            &format!("/api/v1/sla-policies/{pid}"),
            Some(json!({"name": "Ouro", "firstResponseHours": 0.5})),
        )
        .await;
    assert_eq!(
        (st, p["name"].as_str(), p["firstResponseHours"].as_f64()),
        (200, Some("Ouro"), Some(0.5)),
        "{p}"
    );
    let (st, _) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"slaPolicyId": pid})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, err) = s
        .send(Method::DELETE, &format!("/api/v1/sla-policies/{pid}"), None)
        .await;
    assert_eq!(st, 409, "{err}");
    let (st, q) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"slaPolicyId": null})),
        )
        .await;
    assert_eq!((st, &q["slaPolicyId"]), (200, &Value::Null), "{q}");
    let (st, _) = s
        .send(Method::DELETE, &format!("/api/v1/sla-policies/{pid}"), None)
        .await;
    assert_eq!(st, 204);
    let (st, _) = s
        .send(Method::DELETE, &format!("/api/v1/sla-policies/{pid}"), None)
        .await;
    assert_eq!(st, 404);
    s.stop().await;
}

/// SLA policies as the seed writes them, and the ticket that runs under one.
async fn sla_over_http(database_url: Option<String>) {
    use reqwest::Method;
    let number = format!("31{:011}", unique());
    let s = start(database_url, &number).await;
    let hours = json!({"timezone": "America/Sao_Paulo",
        "schedule": {"monday": {"start": "09:00", "end": "18:00"}, "tuesday": {"start": "09:00", "end": "18:00"},
                     "wednesday": {"start": "09:00", "end": "18:00"}, "thursday": {"start": "09:00", "end": "18:00"},
                     "friday": {"start": "09:00", "end": "18:00"}},
        "holidayPresets": ["BR"]});
    let (st, p) = s
        .post_json(
            "/api/v1/sla-policies",
            &json!({"name": "Comercial", "firstResponseHours": 2, "resolutionHours": 8,
                "priorityOverrides": {"urgent": {"firstResponseHours": 1, "resolutionHours": 4}},
                "businessHoursOnly": true, "businessHours": hours, "isDefault": true}),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let by = &p["targetsByPriority"];
    assert_eq!(
        (
            by["urgent"]["firstResponseHours"].as_f64(),
            by["urgent"]["resolutionHours"].as_f64(),
            by["medium"]["firstResponseHours"].as_f64(),
            by["low"]["resolutionHours"].as_f64(),
        ),
        (Some(1.0), Some(4.0), Some(2.0), Some(8.0)),
        "overrides, and the policy's targets for the rest: {p}"
    );
    assert!(by["medium"].get("nextResponseHours").is_none(), "{p}");
    assert_eq!(
        (
            p["businessHoursOnly"].as_bool(),
            p["isDefault"].as_bool(),
            p["businessHours"]["holidayPresets"][0].as_str()
        ),
        (Some(true), Some(true), Some("BR")),
        "{p}"
    );
    let pid = p["id"].as_str().unwrap().to_owned();
    // Left out, isDefault is false: the default stays.
    let (st, other) = s
        .post_json(
            "/api/v1/sla-policies",
            &json!({"name": "Outra", "firstResponseHours": 4}),
        )
        .await;
    assert_eq!((st, other["isDefault"].as_bool()), (201, Some(false)));
    let (_, all) = s.get("/api/v1/sla-policies", true).await;
    let defaults: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["isDefault"] == true)
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(defaults, [pid.as_str()]);
    // Replaced without isDefault, the default stays the default.
    let (st, p) = s
        .send(
            Method::PUT,
            &format!("/api/v1/sla-policies/{pid}"),
            Some(
                json!({"name": "Comercial", "firstResponseHours": 2, "resolutionHours": 8,
                "businessHours": hours}),
            ),
        )
        .await;
    assert_eq!((st, p["isDefault"].as_bool()), (200, Some(true)), "{p}");
    // Bad bodies name the field: values the policy cannot take are 422, a body that does
    // not parse 400.
    for (body, status, field) in [
        (
            json!({"name": "X", "firstResponseHours": 1, "priorityOverrides": {"critical": {"firstResponseHours": 1}}}),
            422,
            "priorityOverrides.critical",
        ),
        (
            json!({"name": "X", "firstResponseHours": -1}),
            422,
            "firstResponseHours",
        ),
        (
            json!({"name": "X", "firstResponseHours": 1, "priorityOverrides": {"high": {"resolutionHours": 0}}}),
            422,
            "priorityOverrides.high.resolutionHours",
        ),
        (
            json!({"name": "X", "firstResponseHours": 1, "businessHoursOnly": true}),
            422,
            "businessHours",
        ),
        (
            json!({"name": "X", "firstResponseHours": 1, "atRisk": 1.5}),
            422,
            "atRisk",
        ),
        (json!({"name": "X"}), 422, "targets"),
        (json!({"name": "X", "firstResponseHours": "2"}), 400, "body"),
    ] {
        let (st, err) = s.post_json("/api/v1/sla-policies", &body).await;
        assert_eq!(
            (st, err["error"]["field"].as_str()),
            (status, Some(field)),
            "{body}: {err}"
        );
    }
    // A customer writes now: the ticket runs under the default policy's 2 business hours.
    // The server reads the system clock; so does the customer's phone.
    let now = helpdesk_core::clock::Clock::now(&helpdesk_core::clock::SystemClock).timestamp();
    let k = unique();
    let raw =
        payload(&number, k, &format!("wamid.sla.{k}")).replace("1697043223", &now.to_string());
    assert_eq!(s.webhook_signed(&raw).await, 200);
    let (_, list) = s.get("/api/v1/tickets", true).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (st, t) = s.get(&format!("/api/v1/tickets/{id}"), true).await;
    assert_eq!(st, 200);
    let sla = &t["slaState"];
    assert_eq!(
        (sla["policyName"].as_str(), sla["businessHours"].as_bool()),
        (Some("Comercial"), Some(true)),
        "{t}"
    );
    let fr = &sla["clocks"][0];
    assert_eq!(
        (fr["metric"].as_str(), fr["targetSecs"].as_i64()),
        (Some("first_response"), Some(7200)),
        "{t}"
    );
    assert!(fr["dueAt"].is_string(), "when it is due: {t}");
    assert!(
        fr["remainingSecs"].as_i64().unwrap() + fr["usedSecs"].as_i64().unwrap() == 7200,
        "{t}"
    );
    // Reopening is a queue setting.
    let (_, queues) = s.get("/api/v1/queues", true).await;
    let qid = queues[0]["id"].as_str().unwrap().to_owned();
    let (st, q) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"reopen": {"mode": "within", "minutes": 30}})),
        )
        .await;
    assert_eq!(
        (
            st,
            q["reopen"]["mode"].as_str(),
            q["reopen"]["minutes"].as_u64()
        ),
        (200, Some("within"), Some(30)),
        "{q}"
    );
    let (st, err) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/queues/{qid}"),
            Some(json!({"reopen": {"mode": "within", "minutes": 0}})),
        )
        .await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (422, Some("reopen.minutes")),
        "{err}"
    );
    s.stop().await;
}

/// The analytics endpoints over what agents did through the API.
async fn analytics_over_http(database_url: Option<String>) {
    use reqwest::Method;
    let number = format!("32{:011}", unique());
    let s = start(database_url, &number).await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"/messages$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT1"}]})))
        .mount(&s.graph)
        .await;
    let (st, _) = s
        .post_json(
            "/api/v1/sla-policies",
            &json!({"name": "Padrão", "firstResponseHours": 2, "resolutionHours": 24, "isDefault": true}),
        )
        .await;
    assert_eq!(st, 201);
    let (_, queues) = s.get("/api/v1/queues", true).await;
    let qid = queues[0]["id"].as_str().unwrap().to_owned();
    let (st, agent) = s
        .post_json(
            "/api/v1/agents",
            &json!({"name": "Bia", "email": format!("bia{}@example.com", unique()), "role": "agent",
                    "capacity": 10, "presence": "online"}),
        )
        .await;
    assert_eq!(st, 201, "{agent}");
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .post_json(
            &format!("/api/v1/queues/{qid}/members"),
            &json!({"agentId": agent_id}),
        )
        .await;
    assert_eq!(st, 201);
    let as_agent = |method: Method, path: String, body: Option<Value>| {
        let r = s
            .http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(TOKEN)
            .header("x-helpdesk-agent", agent_id.clone());
        let r = match body {
            Some(b) => r.json(&b),
            None => r,
        };
        async move {
            let resp = r.send().await.unwrap();
            let st = resp.status().as_u16();
            (st, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Three tickets: two from a Google campaign with a deal value; one answered, resolved
    // and rated by the agent.
    let mut ids = Vec::new();
    for (i, (source, campaign)) in [
        ("google", "queda"),
        ("google", "queda"),
        ("facebook", "=1+1"),
    ]
    .iter()
    .enumerate()
    {
        let (st, t) = s
            .post_json(
                "/api/v1/tickets",
                &json!({"lead": {"name": "Cliente", "phone": format!("+55219{:08}", unique() + i as u64)},
                        "ticket": {"utmSource": source, "utmCampaign": campaign, "dealValue": 1500.00}}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let t0 = &ids[0];
    let (st, _) = as_agent(
        Method::POST,
        format!("/api/v1/tickets/{t0}/messages"),
        Some(json!({"text": "Olá!"})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = as_agent(Method::POST, format!("/api/v1/tickets/{t0}/resolve"), None).await;
    assert_eq!(st, 200);
    let (st, _) = s
        .post_json(
            &format!("/api/v1/tickets/{t0}/rating"),
            &json!({"score": 5}),
        )
        .await;
    assert_eq!(st, 200);

    let (st, o) = s
        .get("/api/v1/analytics/overview?dateRange=today", true)
        .await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(
        (
            o["overview"]["created"].as_u64(),
            o["overview"]["resolved"].as_u64(),
            o["overview"]["firstResponse"]["wall"]["count"].as_u64(),
            o["csat"]["distribution"]["5"].as_u64(),
            o["sla"]["firstResponse"]["met"].as_u64(),
            o["sla"]["firstResponse"]["running"].as_u64(),
        ),
        (Some(3), Some(1), Some(1), Some(1), Some(1), Some(2)),
        "{o}"
    );
    assert!(o["period"]["from"].is_string(), "{o}");
    // The same day as local dates, and as instants.
    let (_, by_days) = s
        .get(
            &format!(
                "/api/v1/analytics/overview?from={d}&to={d}",
                d = local_today(&o)
            ),
            true,
        )
        .await;
    assert_eq!(by_days["overview"], o["overview"], "{by_days}");
    let (st, v) = s.get("/api/v1/analytics/volume?dateRange=7d", true).await;
    assert_eq!(st, 200);
    let days = v["days"].as_array().unwrap();
    assert_eq!(
        days.iter()
            .map(|d| d["created"].as_u64().unwrap())
            .sum::<u64>(),
        3,
        "{v}"
    );
    let (_, d) = s.get("/api/v1/analytics/distribution", true).await;
    assert_eq!(
        (
            d["byStatus"]["resolved"].as_u64(),
            d["byStatus"]["new"].as_u64()
        ),
        (Some(1), Some(2)),
        "{d}"
    );
    assert_eq!(d["byQueue"][0]["name"], "Atendimento", "{d}");
    assert_eq!(d["byChannel"][0]["kind"], "whatsapp", "{d}");
    let (_, a) = s.get("/api/v1/analytics/agents", true).await;
    let bia = a["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["agentId"] == agent_id.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            bia["name"].as_str(),
            bia["resolved"].as_u64(),
            bia["firstResponse"]["count"].as_u64(),
            bia["csat"]["responses"].as_u64()
        ),
        (Some("Bia"), Some(1), Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(a["queues"][0]["created"].as_u64(), Some(3), "{a}");
    let (_, sla) = s.get("/api/v1/analytics/sla/detailed", true).await;
    assert_eq!(sla["policies"][0]["name"], "Padrão", "{sla}");
    assert_eq!(
        sla["policies"][0]["resolution"]["met"].as_u64(),
        Some(1),
        "{sla}"
    );
    let (_, c) = s.get("/api/v1/analytics/csat", true).await;
    assert_eq!(
        (c["responses"].as_u64(), c["byAgent"][0]["name"].as_str()),
        (Some(1), Some("Bia")),
        "{c}"
    );
    let (_, p) = s.get("/api/v1/analytics/peak-hours", true).await;
    let by_hour: u64 = p["byHour"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .sum();
    let days = p["byWeekday"].as_array().unwrap();
    let by_weekday: u64 = days
        .iter()
        .flat_map(|d| {
            d["byHour"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_u64)
        })
        .sum();
    assert_eq!((by_hour, by_weekday), (3, 3), "{p}");
    assert_eq!(
        (days[0]["weekday"].as_str(), days[6]["weekday"].as_str()),
        (Some("monday"), Some("sunday")),
        "{p}"
    );
    let (_, camp) = s.get("/api/v1/analytics/campaigns", true).await;
    let google = camp["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["utmSource"] == "google")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            google["tickets"].as_u64(),
            google["utmCampaign"].as_str(),
            google["value"]["BRL"]["inNegotiation"].as_f64()
        ),
        (Some(2), Some("queda"), Some(3000.0)),
        "{camp}"
    );
    // The export: a CSV line per ticket, no personal data.
    let resp = s
        .http
        .get(format!(
            "{}/api/v1/analytics/export?dateRange=today",
            s.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("number,status,priority,queue,assignee"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",resolved,") && l.contains(",met,")),
        "{csv}"
    );
    assert!(!csv.contains("Cliente") && !csv.contains("+55219"), "{csv}");
    assert!(
        csv.contains(",'=1+1,") && csv.contains(",1500.00,BRL"),
        "a campaign that looks like a formula is defused, amounts are not: {csv}"
    );
    // Bad periods and queues are named; agents see no reports.
    for (query, field) in [
        ("dateRange=forever", "dateRange"),
        ("from=2026-03-01", "to"),
        ("to=2026-03-01", "from"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=yesterday&to=2026-03-01", "from"),
        ("dateRange=7d&from=2026-03-01&to=2026-03-02", "dateRange"),
        ("queueId=fila", "queueId"),
        ("from=2026-01-01&to=%2B262143-12-31", "to"),
    ] {
        let (st, err) = s
            .get(&format!("/api/v1/analytics/overview?{query}"), true)
            .await;
        assert_eq!(
            (st, err["error"]["field"].as_str()),
            (400, Some(field)),
            "{query}: {err}"
        );
    }
    let (st, err) = as_agent(Method::GET, "/api/v1/analytics/overview".into(), None).await;
    assert_eq!(
        (st, err["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{err}"
    );
    s.stop().await;
}

/// The local date (São Paulo, the default organization's zone) a report period starts on.
fn local_today(report: &Value) -> String {
    let from = report["period"]["from"].as_str().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(from).unwrap();
    t.with_timezone(&chrono::FixedOffset::west_opt(3 * 3600).unwrap())
        .date_naive()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_over_http_in_memory() {
    analytics_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_over_http_on_postgres() {
    analytics_over_http(Some(database_url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_over_http_in_memory() {
    sla_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_over_http_on_postgres() {
    sla_over_http(Some(database_url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_over_http_in_memory() {
    configuration_over_http(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_over_http_on_postgres() {
    configuration_over_http(Some(database_url())).await;
}
