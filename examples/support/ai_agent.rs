//! An AI assistant on the Responses API: one customer message, the helpdesk's tools, tool calls
//! executed against the helpdesk (in memory here) and the CRM, looping until the model answers
//! with text. Used by `cargo run --example ai_agent`.

use helpdesk_core::Helpdesk;
use helpdesk_core::actor::Actor;
use helpdesk_core::channel::{InboundMessage, InboundSender};
use helpdesk_core::clock::SystemClock;
use helpdesk_core::domain::message::MessageContent;
use helpdesk_core::domain::party::ChannelKind;
use helpdesk_core::memory::{MemoryStore, RecordingChannel};
use helpdesk_core::service::{ContactPatch, NewChannelAccount, NewOrganization, NewQueue};
use helpdesk_openai_tools::calls::from_responses;
use helpdesk_openai_tools::tools::{ToolOptions, chat_tools, responses_tools, tool_set};
use helpdesk_openai_tools::{
    CrmClient, CrmSettings, DispatchSettings, Dispatcher, ToolContext, Turn,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// What the agent needs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Responses API base URL (`https://api.openai.com/v1`).
    pub base_url: String,
    /// API key.
    pub api_key: String,
    /// Model.
    pub model: String,
    /// CRM endpoint for `abrir_ticket_crm` (the tool is offered only with one).
    pub crm_url: Option<String>,
    /// The customer's message.
    pub message: String,
    /// The conversation reference sent to the CRM.
    pub conversation_id: String,
    /// The client's CPF/CNPJ stored on the conversation's contact.
    pub client_document: Option<String>,
    /// Model round trips before giving up.
    pub max_rounds: u32,
}

/// What the agent did.
#[derive(Debug, Clone)]
pub struct AgentRun {
    /// The model's final text.
    pub answer: String,
    /// One JSON object: rounds, hand-off, and every tool call with its outcome.
    pub summary: Value,
}

const INSTRUCTIONS: &str = "Você é o assistente de atendimento de um provedor de internet. Responda em português, de forma breve. Use as ferramentas para abrir tickets no CRM, classificar e transferir atendimentos. Nunca invente protocolos.";

/// The tool definitions the agent offers, for `--print-tools responses|chat`.
pub fn print_tools(api: &str, with_crm: bool) -> Result<String, String> {
    let defs = tool_set(
        &helpdesk_core::domain::catalogue::Catalogue::default(),
        &ToolOptions {
            crm: with_crm,
            ..ToolOptions::default()
        },
    );
    let v = match api {
        "responses" => responses_tools(&defs),
        "chat" => chat_tools(&defs),
        other => {
            return Err(format!(
                "--print-tools takes `responses` or `chat`, not {other:?}"
            ));
        }
    };
    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
}

/// Runs one turn.
pub async fn run(cfg: AgentConfig) -> Result<AgentRun, String> {
    let hd = Helpdesk::new(
        Arc::new(MemoryStore::new()),
        Arc::new(RecordingChannel::new()),
        Arc::new(SystemClock),
    );
    let e = |e: helpdesk_core::Error| e.to_string();
    let org = hd
        .create_organization(NewOrganization::brazil("Demo"))
        .await
        .map_err(e)?
        .id;
    let queue = hd
        .create_queue(org, &Actor::System, NewQueue::new("Atendimento"))
        .await
        .map_err(e)?;
    hd.add_channel_account(
        org,
        &Actor::System,
        NewChannelAccount {
            kind: ChannelKind::Whatsapp,
            external_id: "demo".into(),
            name: "WhatsApp".into(),
            default_queue_id: Some(queue.id),
        },
    )
    .await
    .map_err(e)?;
    let ing = hd
        .ingest(InboundMessage {
            channel: ChannelKind::Whatsapp,
            account_external_id: "demo".into(),
            external_id: format!("demo.{}", cfg.conversation_id),
            from: InboundSender {
                phone: Some("5511900000000".into()),
                whatsapp_id: None,
                email: None,
                name: None,
                visitor_id: None,
            },
            content: MessageContent::text(cfg.message.clone()),
            sent_at: hd.now(),
            reply_to_external_id: None,
            tracking: None,
        })
        .await
        .map_err(e)?;
    if let Some(doc) = &cfg.client_document {
        let ticket = hd
            .ticket(org, &Actor::System, ing.ticket_id)
            .await
            .map_err(e)?;
        hd.update_contact(
            org,
            &Actor::System,
            ticket.contact_id,
            ContactPatch {
                document: Some(doc.clone()),
                ..ContactPatch::default()
            },
        )
        .await
        .map_err(|err| format!("--client-document: {err}"))?;
    }
    let crm = cfg
        .crm_url
        .as_ref()
        .map(|u| CrmClient::new(CrmSettings::new(u.clone()), Arc::new(SystemClock)));
    let catalogue = hd.organization(org).await.map_err(e)?.catalogue;
    let tools = responses_tools(&tool_set(
        &catalogue,
        &ToolOptions {
            crm: crm.is_some(),
            ..ToolOptions::default()
        },
    ));
    let dispatcher = Dispatcher::new(hd.clone(), crm, DispatchSettings::default());
    let ctx = ToolContext {
        org,
        ticket_id: ing.ticket_id,
        crm_conversation_ref: Some(cfg.conversation_id.clone()),
    };
    let http = reqwest::Client::new();
    let mut turn = Turn::default();
    let mut input = json!([{"role": "user", "content": cfg.message}]);
    let mut previous: Option<String> = None;
    for round in 1..=cfg.max_rounds {
        let mut body = json!({
            "model": cfg.model,
            "instructions": INSTRUCTIONS,
            "input": input,
            "tools": tools,
            "parallel_tool_calls": true,
        });
        if let Some(p) = &previous {
            body["previous_response_id"] = json!(p);
        }
        if turn.handed_off {
            // Handed to a human: the model may only tell the customer.
            body["tool_choice"] = json!("none");
        }
        let resp = http
            .post(format!("{}/responses", cfg.base_url.trim_end_matches('/')))
            .bearer_auth(&cfg.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|err| format!("calling the Responses API: {err}"))?;
        let status = resp.status();
        let value: Value = resp
            .json()
            .await
            .map_err(|err| format!("reading the Responses API answer: {err}"))?;
        if !status.is_success() {
            let msg = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(format!("the Responses API answered {status}: {msg}"));
        }
        previous = value.get("id").and_then(Value::as_str).map(str::to_owned);
        let calls = from_responses(&value);
        if calls.is_empty() {
            let answer = output_text(&value);
            return Ok(AgentRun {
                answer,
                summary: json!({
                    "conversation_id": cfg.conversation_id,
                    "rounds": round,
                    "handed_off": turn.handed_off,
                    "tool_calls": turn.executed,
                }),
            });
        }
        let outputs = dispatcher.dispatch(&ctx, &mut turn, &calls).await;
        input = Value::Array(outputs.iter().map(|o| o.responses_item()).collect());
    }
    Err(format!(
        "the model was still calling tools after {} rounds",
        cfg.max_rounds
    ))
}

/// The text of a response's `message` items.
pub fn output_text(response: &Value) -> String {
    let mut out = String::new();
    for item in response
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue;
        }
        for part in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if part.get("type").and_then(Value::as_str) == Some("output_text")
                && let Some(t) = part.get("text").and_then(Value::as_str)
            {
                out.push_str(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn call(id: &str, name: &str, args: Value) -> Value {
        json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": id, "name": name,
               "arguments": args.to_string(), "status": "completed"})
    }

    #[tokio::test]
    async fn invalid_then_valid_call_then_text_opens_one_crm_ticket() {
        let openai = MockServer::start().await;
        let crm = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/abrir_ticket"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!([{"data": [{"resposta": [{"protocolo": "2510271534789012"}]}]}]),
            ))
            .expect(1)
            .mount(&crm)
            .await;
        // Round 1: an invalid pair. Round 2 (after the error output): a valid call and a
        // parallel note. Round 3: the answer.
        Mock::given(method("POST"))
            .and(path("/v1/responses"))
            .and(body_partial_json(json!({"previous_response_id": "resp_2"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "resp_3", "output": [
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Ticket registrado. Protocolo: 2510271534789012"}]}
            ]})))
            .expect(1)
            .mount(&openai)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/responses"))
            .and(body_partial_json(json!({"previous_response_id": "resp_1"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "resp_2", "output": [
                call("c2", "abrir_ticket_crm", json!({"resumo": "Cliente enviou comprovante.", "setor": "FINANCEIRO", "motivo": "INFORMAR PAGAMENTO"})),
                call("c3", "adicionar_nota", json!({"texto": "Comprovante recebido"}))
            ]})))
            .expect(1)
            .mount(&openai)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/responses"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "resp_1", "output": [
                call("c1", "abrir_ticket_crm", json!({"resumo": "Cliente enviou comprovante.", "setor": "FINANCEIRO", "motivo": "SEM CONEXÃO"}))
            ]})))
            .with_priority(10)
            .expect(1)
            .mount(&openai)
            .await;
        let run = run(AgentConfig {
            base_url: format!("{}/v1", openai.uri()),
            api_key: "sk-test".into(),
            model: "gpt-test".into(),
            crm_url: Some(format!("{}/abrir_ticket", crm.uri())),
            message: "Enviei o comprovante".into(),
            conversation_id: "conv-7".into(),
            client_document: Some("529.982.247-25".into()),
            max_rounds: 5,
        })
        .await
        .unwrap();
        assert_eq!(run.answer, "Ticket registrado. Protocolo: 2510271534789012");
        assert_eq!(run.summary["rounds"], 3);
        let kinds: Vec<(String, bool)> = run.summary["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["ok"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("abrir_ticket_crm".into(), false),
                ("abrir_ticket_crm".into(), true),
                ("adicionar_nota".into(), true)
            ]
        );
        // Every call id was answered in the next request.
        let reqs = openai.received_requests().await.unwrap();
        let second: Value = serde_json::from_slice(&reqs[1].body).unwrap();
        assert_eq!(second["input"][0]["type"], "function_call_output");
        assert_eq!(second["input"][0]["call_id"], "c1");
        let third: Value = serde_json::from_slice(&reqs[2].body).unwrap();
        let ids: Vec<&str> = third["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["c2", "c3"]);
        assert_eq!(
            reqs[0].headers.get("authorization").unwrap(),
            "Bearer sk-test"
        );
    }

    #[test]
    fn tools_print_for_both_apis() {
        let r: Value = serde_json::from_str(&print_tools("responses", true).unwrap()).unwrap();
        assert_eq!(r[0]["name"], "abrir_ticket_crm");
        let c: Value = serde_json::from_str(&print_tools("chat", false).unwrap()).unwrap();
        assert_eq!(c[0]["function"]["name"], "transferir_para_humano");
        assert!(print_tools("assistants", true).is_err());
    }
}
