//! Tool calls in and tool outputs out, in both APIs' shapes.
//!
//! Responses: the model's `output` holds `function_call` items `{call_id, name, arguments}`;
//! each is answered by a `function_call_output` input item `{call_id, output}`.
//! Chat Completions: the assistant message holds `tool_calls` `[{id, function: {name,
//! arguments}}]`; each is answered by a `{role: "tool", tool_call_id, content}` message.
//! `arguments` is a JSON string the model wrote: it may be invalid; the dispatcher answers
//! anyway.

use serde_json::{Value, json};

/// One function call the model asked for, read from either API's shape; every call must get a
/// [`ToolOutput`] with the same `call_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// `call_id` (Responses) or `id` (Chat).
    pub call_id: String,
    /// Name of the function to run (`abrir_ticket_crm`), as the model wrote it.
    pub name: String,
    /// The arguments as the model wrote them (a JSON string, maybe invalid).
    pub arguments: String,
}

/// The answer to one call, rendered for either API.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Id of the call this output answers ([`ToolCall::call_id`]).
    pub call_id: String,
    /// The JSON result (`{ok: true, …}` or `{ok: false, kind, retryable, message,
    /// allowed_values}`).
    pub output: Value,
}

impl ToolOutput {
    /// As a Responses `function_call_output` input item.
    pub fn responses_item(&self) -> Value {
        json!({"type": "function_call_output", "call_id": self.call_id, "output": self.output.to_string()})
    }

    /// As a Chat Completions `tool` message.
    pub fn chat_message(&self) -> Value {
        json!({"role": "tool", "tool_call_id": self.call_id, "content": self.output.to_string()})
    }
}

/// The `function_call` items of a Responses API response (its `output` array, or the whole
/// response object), in order. Items of other types are skipped; a call item without
/// `call_id` or `name` is skipped too (it cannot be answered).
pub fn from_responses(response: &Value) -> Vec<ToolCall> {
    let items = response
        .get("output")
        .and_then(Value::as_array)
        .or_else(|| response.as_array());
    items
        .into_iter()
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("function_call"))
        .filter_map(|i| {
            Some(ToolCall {
                call_id: i.get("call_id")?.as_str()?.to_owned(),
                name: i.get("name")?.as_str()?.to_owned(),
                arguments: arguments_text(i.get("arguments")),
            })
        })
        .collect()
}

/// The `tool_calls` of a Chat Completions assistant message (or of a whole response: its
/// first choice's message), in order.
pub fn from_chat(message_or_response: &Value) -> Vec<ToolCall> {
    let message = message_or_response
        .pointer("/choices/0/message")
        .unwrap_or(message_or_response);
    message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let f = c.get("function")?;
            Some(ToolCall {
                call_id: c.get("id")?.as_str()?.to_owned(),
                name: f.get("name")?.as_str()?.to_owned(),
                arguments: arguments_text(f.get("arguments")),
            })
        })
        .collect()
}

fn arguments_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Canonical JSON text of arguments (object keys sorted, no spaces), for deduplication and
/// idempotency keys. `None` when the text is not JSON.
pub fn canonical(arguments: &str) -> Option<String> {
    let v: Value = serde_json::from_str(arguments).ok()?;
    Some(canonical_value(&v))
}

/// Canonical JSON text of a value: object keys sorted, no insignificant spaces (see
/// [`canonical`]).
pub fn canonical_value(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_value(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_value).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_parse_and_answer() {
        let resp = json!({"output": [
            {"type": "reasoning", "id": "rs_1"},
            {"type": "function_call", "call_id": "call_a", "name": "abrir_ticket_crm", "arguments": "{\"setor\":\"SUPORTE\"}"},
            {"type": "function_call", "call_id": "call_b", "name": "adicionar_nota", "arguments": "not json"},
            {"type": "message", "content": []}
        ]});
        let calls = from_responses(&resp);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].arguments, "not json");
        let chat = json!({"choices": [{"message": {"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "consultar_ticket", "arguments": "{\"numero\": 7}"}}
        ]}}]});
        let c = from_chat(&chat);
        assert_eq!(
            (c[0].call_id.as_str(), c[0].name.as_str()),
            ("call_1", "consultar_ticket")
        );
        let out = ToolOutput {
            call_id: "call_1".into(),
            output: json!({"ok": true}),
        };
        assert_eq!(out.responses_item()["output"], "{\"ok\":true}");
        assert_eq!(out.chat_message()["tool_call_id"], "call_1");
    }

    #[test]
    fn canonical_form_ignores_key_order_and_spacing() {
        assert_eq!(
            canonical("{\"b\": 1, \"a\": {\"y\": [1, 2], \"x\": null}}"),
            canonical("{\"a\":{\"x\":null,\"y\":[1,2]},\"b\":1}")
        );
        assert_eq!(canonical("{"), None);
    }
}
