//! Dispatch against a real helpdesk (in memory) and a mock CRM (wiremock): every call id is
//! answered, invalid pairs come back with the valid motivos, retries open one ticket, the
//! breaker opens and half-opens, timeouts are bounded, documents come from the conversation,
//! and logs hold no personal data.

// Test helpers panic on setup failures.
#![allow(clippy::unwrap_used)]

use helpdesk_core::actor::Actor;
use helpdesk_core::clock::ManualClock;
use helpdesk_core::domain::message::Direction;
use helpdesk_core::domain::ticket::Ticket;
use helpdesk_core::memory::MemoryStore;
use helpdesk_core::service::ContactPatch;
use helpdesk_core::testing::conformance::Fixture;
use helpdesk_openai_tools::breaker::{BreakerSettings, BreakerState};
use helpdesk_openai_tools::calls::{ToolCall, from_chat};
use helpdesk_openai_tools::{
    CrmClient, CrmSettings, DispatchSettings, Dispatcher, ToolContext, Turn,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CPF: &str = "529.982.247-25";
const PROTOCOL: &str = "2510271534789012";

struct Desk {
    f: Fixture,
    ctx: ToolContext,
    ticket: Ticket,
}

async fn desk(document: Option<&str>) -> Desk {
    let f = Fixture::new(Arc::new(MemoryStore::new()), 2, 10).await;
    let ing =
        f.hd.ingest(f.inbound("wamid.1", "5511999998888", "Enviei o comprovante"))
            .await
            .unwrap();
    let ticket =
        f.hd.ticket(f.org.id, &Actor::System, ing.ticket_id)
            .await
            .unwrap();
    if let Some(d) = document {
        f.hd.update_contact(
            f.org.id,
            &f.admin,
            ticket.contact_id,
            ContactPatch {
                document: Some(d.into()),
                ..ContactPatch::default()
            },
        )
        .await
        .unwrap();
    }
    let ctx = ToolContext {
        org: f.org.id,
        ticket_id: ticket.id,
        crm_conversation_ref: Some("conv-42".into()),
    };
    Desk { f, ctx, ticket }
}

fn settings(server: &MockServer) -> CrmSettings {
    let mut s = CrmSettings::new(format!("{}/webhook/abrir_ticket", server.uri()));
    s.base_backoff = Duration::from_millis(10);
    s.attempt_timeout = Duration::from_millis(500);
    s.deadline = Duration::from_secs(3);
    s
}

fn dispatcher(d: &Desk, crm: CrmSettings) -> Dispatcher {
    let clock: Arc<ManualClock> = d.f.clock.clone();
    Dispatcher::new(
        d.f.hd.clone(),
        Some(CrmClient::new(crm, clock)),
        DispatchSettings::default(),
    )
}

fn call(id: &str, name: &str, args: Value) -> ToolCall {
    ToolCall {
        call_id: id.into(),
        name: name.into(),
        arguments: args.to_string(),
    }
}

fn ok_body() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!([{"data": [{"resposta": [{"protocolo": PROTOCOL}]}]}]))
}

fn abrir(setor: &str, motivo: &str) -> Value {
    json!({"resumo": "Cliente Maria enviou comprovante de pagamento de R$ 150,00 via Pix.", "setor": setor, "motivo": motivo})
}

#[tokio::test]
async fn an_invalid_pair_lists_the_valid_motivos_then_a_valid_call_opens_one_ticket() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhook/abrir_ticket"))
        .and(header_exists("Idempotency-Key"))
        .respond_with(ok_body())
        .expect(1)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "c1",
                "abrir_ticket_crm",
                abrir("financeiro", "sem conexao"),
            )],
        )
        .await;
    let o = &out[0].output;
    assert_eq!(o["ok"], false);
    assert_eq!(o["kind"], "invalid_classification");
    assert_eq!(o["retryable"], false);
    let allowed: Vec<&str> = o["allowed_values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        allowed.contains(&"INFORMAR PAGAMENTO") && allowed.len() == 11,
        "{allowed:?}"
    );
    assert!(o["message"].as_str().unwrap().contains("FINANCEIRO"));
    // Case and accents do not matter; the canonical pair is what the CRM gets.
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "c2",
                "abrir_ticket_crm",
                abrir("Financeiro", " informar pagamento "),
            )],
        )
        .await;
    assert_eq!(out[0].output["ok"], true, "{}", out[0].output);
    assert_eq!(out[0].output["protocolo"], PROTOCOL);
    assert_eq!(out[0].output["motivo"], "INFORMAR PAGAMENTO");
    // The Paired schema's shape is accepted too (and is the same call: not sent again).
    let paired = json!({"resumo": "Cliente Maria enviou comprovante de pagamento de R$ 150,00 via Pix.",
        "classificacao": {"setor": "FINANCEIRO", "motivo": "INFORMAR PAGAMENTO"}});
    let out = disp
        .dispatch(&d.ctx, &mut turn, &[call("c3", "abrir_ticket_crm", paired)])
        .await;
    assert_eq!(out[0].output["protocolo"], PROTOCOL, "{}", out[0].output);
    let req = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body["conversationId"], "conv-42",
        "from the context, not the model"
    );
    assert_eq!(
        body["clientDocument"], "52998224725",
        "from the contact, normalized"
    );
    assert_eq!(
        (body["setor"].as_str(), body["motivo"].as_str()),
        (Some("FINANCEIRO"), Some("INFORMAR PAGAMENTO"))
    );
    let t =
        d.f.hd
            .ticket(d.f.org.id, &Actor::System, d.ticket.id)
            .await
            .unwrap();
    assert_eq!(
        t.external_protocol.as_deref(),
        Some(PROTOCOL),
        "the protocol is stored on the ticket"
    );
}

#[tokio::test]
async fn parallel_calls_each_get_one_output_and_identical_ones_run_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_body())
        .expect(1)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    let args = abrir("FINANCEIRO", "INFORMAR PAGAMENTO");
    // Same arguments with another key order and spacing: still identical.
    let reordered = r#"{ "motivo":"INFORMAR PAGAMENTO", "setor":"FINANCEIRO", "resumo":"Cliente Maria enviou comprovante de pagamento de R$ 150,00 via Pix."}"#;
    let calls = vec![
        call("a", "abrir_ticket_crm", args),
        call(
            "b",
            "adicionar_nota",
            json!({"texto": "Comprovante recebido"}),
        ),
        ToolCall {
            call_id: "c".into(),
            name: "abrir_ticket_crm".into(),
            arguments: reordered.into(),
        },
        call("d", "cancelar_tudo", json!({})),
        ToolCall {
            call_id: "e".into(),
            name: "adicionar_nota".into(),
            arguments: "{\"texto\": ".into(),
        },
    ];
    let out = disp.dispatch(&d.ctx, &mut turn, &calls).await;
    let ids: Vec<&str> = out.iter().map(|o| o.call_id.as_str()).collect();
    assert_eq!(
        ids,
        ["a", "b", "c", "d", "e"],
        "one output per call id, in order"
    );
    assert_eq!(
        out[0].output, out[2].output,
        "the copy gets the same output"
    );
    assert_eq!(turn.executed[2].duplicate_of.as_deref(), Some("a"));
    assert_eq!(out[1].output["ok"], true);
    assert_eq!(out[3].output["kind"], "unknown_tool");
    assert!(
        out[3].output["allowed_values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "abrir_ticket_crm")
    );
    assert_eq!(out[4].output["kind"], "invalid_arguments");
    let notes =
        d.f.hd
            .messages(d.f.org.id, &Actor::System, d.ticket.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == Direction::Note)
            .count();
    assert_eq!(notes, 1, "the note was added once");
    // Each output renders for both APIs.
    assert_eq!(out[3].responses_item()["type"], "function_call_output");
    assert_eq!(out[3].chat_message()["role"], "tool");
}

#[tokio::test]
async fn crm_500_500_200_opens_one_ticket_and_a_repeat_reuses_the_protocol() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    let c = call("x1", "abrir_ticket_crm", abrir("SUPORTE", "SEM CONEXÃO"));
    let out = disp
        .dispatch(&d.ctx, &mut turn, std::slice::from_ref(&c))
        .await;
    assert_eq!(out[0].output["protocolo"], PROTOCOL, "{}", out[0].output);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3, "two retries");
    let keys: Vec<&str> = reqs
        .iter()
        .map(|r| r.headers.get("Idempotency-Key").unwrap().to_str().unwrap())
        .collect();
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one idempotency key for every attempt"
    );
    // The model repeats the call in a later turn (a new call id): no second CRM ticket.
    let mut later = Turn::default();
    let again = disp
        .dispatch(
            &d.ctx,
            &mut later,
            &[ToolCall {
                call_id: "x2".into(),
                ..c
            }],
        )
        .await;
    assert_eq!(again[0].output["protocolo"], PROTOCOL);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "not sent again"
    );
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_a_missing_protocol_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"data": [{"resposta": []}]}])),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call("r", "abrir_ticket_crm", abrir("SUPORTE", "LENTIDÃO"))],
        )
        .await;
    assert_eq!(
        (
            out[0].output["kind"].as_str(),
            out[0].output["retryable"].as_bool()
        ),
        (Some("crm_rejected"), Some(false))
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retry on 422"
    );
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call("m", "abrir_ticket_crm", abrir("SUPORTE", "LENTIDÃO"))],
        )
        .await;
    assert_eq!(out[0].output["kind"], "crm_missing_protocol");
    let t =
        d.f.hd
            .ticket(d.f.org.id, &Actor::System, d.ticket.id)
            .await
            .unwrap();
    assert_eq!(t.external_protocol, None);
}

#[tokio::test]
async fn a_down_crm_opens_the_breaker_which_fails_fast_then_half_opens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(6)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let mut s = settings(&server);
    s.breaker = BreakerSettings {
        failure_threshold: 2,
        open_for: chrono::Duration::seconds(30),
    };
    let clock: Arc<ManualClock> = d.f.clock.clone();
    let crm = CrmClient::new(s, clock.clone());
    let disp = Dispatcher::new(
        d.f.hd.clone(),
        Some(crm.clone()),
        DispatchSettings::default(),
    );
    let mut turn = Turn::default();
    for (i, motivo) in ["LENTIDÃO", "SEM INTERNET"].iter().enumerate() {
        let out = disp
            .dispatch(
                &d.ctx,
                &mut turn,
                &[call(
                    &format!("d{i}"),
                    "abrir_ticket_crm",
                    abrir("SUPORTE", motivo),
                )],
            )
            .await;
        assert_eq!(
            (
                out[0].output["kind"].as_str(),
                out[0].output["retryable"].as_bool()
            ),
            (Some("crm_unavailable"), Some(true))
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        6,
        "3 attempts per call"
    );
    assert!(matches!(crm.breaker().state(), BreakerState::Open { .. }));
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "d3",
                "abrir_ticket_crm",
                abrir("SUPORTE", "TROCA MAC"),
            )],
        )
        .await;
    assert_eq!(out[0].output["kind"], "crm_circuit_open");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        6,
        "fails fast: not called"
    );
    clock.advance(chrono::Duration::seconds(31));
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "d4",
                "abrir_ticket_crm",
                abrir("SUPORTE", "TROCA MAC"),
            )],
        )
        .await;
    assert_eq!(
        out[0].output["protocolo"], PROTOCOL,
        "the half-open probe succeeds"
    );
    assert_eq!(crm.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_slow_crm_times_out_within_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_body().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let mut s = settings(&server);
    s.attempt_timeout = Duration::from_millis(150);
    s.deadline = Duration::from_millis(400);
    let disp = dispatcher(&d, s);
    let mut turn = Turn::default();
    let started = std::time::Instant::now();
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call("t", "abrir_ticket_crm", abrir("SUPORTE", "LENTIDÃO"))],
        )
        .await;
    assert_eq!(
        (
            out[0].output["kind"].as_str(),
            out[0].output["retryable"].as_bool()
        ),
        (Some("timeout"), Some(true))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the deadline, not the CRM"
    );
}

#[tokio::test]
async fn without_a_document_the_crm_is_not_called_and_the_seed_message_comes_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_body())
        .expect(0)
        .mount(&server)
        .await;
    let d = desk(None).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    // A document in the model's arguments is refused: it never comes from the model.
    let mut args = abrir("FINANCEIRO", "PAGAMENTO");
    args["clientDocument"] = json!(CPF);
    let out = disp
        .dispatch(&d.ctx, &mut turn, &[call("n0", "abrir_ticket_crm", args)])
        .await;
    assert_eq!(out[0].output["kind"], "invalid_arguments");
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "n1",
                "abrir_ticket_crm",
                abrir("FINANCEIRO", "PAGAMENTO"),
            )],
        )
        .await;
    assert_eq!(out[0].output["kind"], "document_required");
    assert_eq!(
        out[0].output["message"],
        "Para abrir um ticket, preciso do seu CPF ou CNPJ."
    );
}

#[tokio::test]
async fn cpf_and_numeric_and_alphanumeric_cnpj_reach_the_crm_normalized() {
    for (doc, sent) in [
        ("529.982.247-25", "52998224725"),
        ("11.444.777/0001-61", "11444777000161"),
        ("12.abc.345/01de-35", "12ABC34501DE35"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ok_body())
            .expect(1)
            .mount(&server)
            .await;
        let d = desk(Some(doc)).await;
        let disp = dispatcher(&d, settings(&server));
        let out = disp
            .dispatch(
                &d.ctx,
                &mut Turn::default(),
                &[call(
                    "k",
                    "abrir_ticket_crm",
                    abrir("FINANCEIRO", "PAGAMENTO"),
                )],
            )
            .await;
        assert_eq!(out[0].output["ok"], true, "{doc}: {}", out[0].output);
        let body: Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(body["clientDocument"], sent, "{doc}");
    }
    // An invalid document never gets onto a contact.
    let d = desk(None).await;
    let bad =
        d.f.hd
            .update_contact(
                d.f.org.id,
                &d.f.admin,
                d.ticket.contact_id,
                ContactPatch {
                    document: Some("529.982.247-26".into()),
                    ..ContactPatch::default()
                },
            )
            .await;
    assert!(bad.is_err(), "wrong check digit refused");
}

#[tokio::test]
async fn three_invalid_calls_in_a_row_hand_off_to_a_human() {
    let server = MockServer::start().await;
    let d = desk(Some(CPF)).await;
    let human = d.f.queue.id;
    let disp = Dispatcher::new(
        d.f.hd.clone(),
        Some(CrmClient::new(settings(&server), d.f.clock.clone())),
        DispatchSettings {
            handoff_queue: Some(human),
            ..DispatchSettings::default()
        },
    );
    let mut turn = Turn::default();
    let bad = |i: usize| {
        call(
            &format!("i{i}"),
            "classificar_ticket",
            json!({"setor": "SUPORTE", "motivo": format!("inventado {i}")}),
        )
    };
    for i in 0..2 {
        let out = disp.dispatch(&d.ctx, &mut turn, &[bad(i)]).await;
        assert_eq!(out[0].output["kind"], "invalid_classification");
        assert!(!turn.handed_off);
    }
    // A parallel batch: the third invalid call hands off; the rest are answered, not run.
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[bad(2), call("n", "adicionar_nota", json!({"texto": "x"}))],
        )
        .await;
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].output["handed_off"], true);
    assert!(turn.handed_off);
    assert_eq!(out[1].output["kind"], "handed_off");
    let notes: Vec<String> =
        d.f.hd
            .messages(d.f.org.id, &Actor::System, d.ticket.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == Direction::Note)
            .map(|m| format!("{:?}", m.content))
            .collect();
    assert_eq!(notes.len(), 1, "only the hand-off note: {notes:?}");
    // A success in between resets the count.
    let mut turn = Turn::default();
    disp.dispatch(&d.ctx, &mut turn, &[bad(3), bad(4)]).await;
    disp.dispatch(
        &d.ctx,
        &mut turn,
        &[call(
            "ok",
            "classificar_ticket",
            json!({"setor": "suporte", "motivo": "lentidao"}),
        )],
    )
    .await;
    disp.dispatch(&d.ctx, &mut turn, &[bad(5)]).await;
    assert!(!turn.handed_off);
}

#[tokio::test]
async fn native_tools_work_on_the_current_conversation_only() {
    let server = MockServer::start().await;
    let d = desk(Some(CPF)).await;
    let other =
        d.f.hd
            .ingest(d.f.inbound("wamid.2", "5521988887777", "oi"))
            .await
            .unwrap();
    let other =
        d.f.hd
            .ticket(d.f.org.id, &Actor::System, other.ticket_id)
            .await
            .unwrap();
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    // Chat Completions shape in, chat messages out.
    let chat = json!({"choices": [{"message": {"role": "assistant", "tool_calls": [
        {"id": "q1", "type": "function", "function": {"name": "consultar_ticket", "arguments": json!({"numero": d.ticket.number}).to_string()}},
        {"id": "q2", "type": "function", "function": {"name": "consultar_ticket", "arguments": json!({"numero": other.number}).to_string()}},
        {"id": "q3", "type": "function", "function": {"name": "classificar_ticket", "arguments": "{\"setor\":\"suporte\",\"motivo\":\"sem conexao\"}"}},
        {"id": "q4", "type": "function", "function": {"name": "transferir_fila", "arguments": "{\"fila\":\"Cobrança VIP\",\"motivo\":null}"}}
    ]}}]});
    let out = disp.dispatch(&d.ctx, &mut turn, &from_chat(&chat)).await;
    assert_eq!(out[0].output["ok"], true);
    assert_eq!(out[0].output["numero"], d.ticket.number);
    assert_eq!(
        out[1].output["kind"], "not_found",
        "another customer's ticket is not disclosed"
    );
    assert_eq!(
        (
            out[2].output["setor"].as_str(),
            out[2].output["motivo"].as_str()
        ),
        (Some("SUPORTE"), Some("SEM CONEXÃO"))
    );
    assert_eq!(out[3].output["kind"], "invalid_arguments");
    assert_eq!(out[3].output["allowed_values"], json!(["Suporte"]));
    assert_eq!(out[3].chat_message()["tool_call_id"], "q4");
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "h",
                "transferir_para_humano",
                json!({"departamento": "FINANCEIRO", "motivo": "Verificar comprovante"}),
            )],
        )
        .await;
    assert_eq!(out[0].output["ok"], true);
    assert!(
        turn.handed_off,
        "a transfer to a human ends the assistant's turn"
    );
}

/// A writer that keeps what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_protocol_setor_motivo_and_conversation_but_no_personal_data() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let d = desk(Some(CPF)).await;
    let disp = dispatcher(&d, settings(&server));
    let mut turn = Turn::default();
    let resumo = "Cliente Maria Silva enviou comprovante de R$ 150,00, telefone 11999998888";
    let out = disp
        .dispatch(
            &d.ctx,
            &mut turn,
            &[call(
                "l",
                "abrir_ticket_crm",
                json!({"resumo": resumo, "setor": "FINANCEIRO", "motivo": "INFORMAR PAGAMENTO"}),
            )],
        )
        .await;
    assert_eq!(out[0].output["ok"], true);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for must in [
        PROTOCOL,
        "FINANCEIRO",
        "INFORMAR PAGAMENTO",
        "conv-42",
        "elapsed_ms",
    ] {
        assert!(text.contains(must), "logs should hold {must}:\n{text}");
    }
    for never in [
        "Maria",
        "150,00",
        "52998224725",
        "529.982.247-25",
        "999998888",
        "comprovante de R$",
    ] {
        assert!(!text.contains(never), "logs must not hold {never}:\n{text}");
    }
}
