//! Our tool definitions, call outputs and parsed call shapes validated against OpenAI's
//! official OpenAPI schemas (a vendored subset: tests/fixtures/SOURCES.md). The strict-mode
//! rules over the same tools are checked beside them, in `tools.rs`.

use helpdesk_core::domain::catalogue::Catalogue;
use helpdesk_openai_tools::calls::ToolOutput;
use helpdesk_openai_tools::tools::{PairSchema, ToolOptions, tool_set};
use serde_json::{Value, json};

fn spec() -> Value {
    let text = include_str!("fixtures/openai-tool-schemas.json");
    serde_json::from_str(text).expect("vendored schemas parse")
}

fn validator(name: &str) -> jsonschema::Validator {
    let mut root = spec();
    root["$ref"] = Value::String(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{name} compiles: {e}"))
}

fn assert_valid(name: &str, v: &Value) {
    let val = validator(name);
    let errors: Vec<String> = val.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{v:#}");
}

#[test]
fn every_tool_is_a_valid_function_tool_for_both_apis_in_both_styles() {
    let c = Catalogue::default();
    for pairs in [PairSchema::Flat, PairSchema::Paired] {
        for def in tool_set(
            &c,
            &ToolOptions {
                pairs,
                crm: true,
                native: true,
            },
        ) {
            assert_valid("FunctionToolParam", &def.responses());
            assert_valid("FunctionTool", &def.responses());
            assert_valid("ChatCompletionTool", &def.chat());
        }
    }
}

#[test]
fn the_validator_rejects_what_openai_rejects() {
    // Guards the test itself: a nameless tool and a name with a space must fail.
    let v = validator("FunctionToolParam");
    assert!(!v.is_valid(&json!({"type": "function", "parameters": {}, "strict": true})));
    assert!(!v.is_valid(
        &json!({"type": "function", "name": "abrir ticket", "parameters": {}, "strict": true})
    ));
    assert!(!validator("ChatCompletionTool").is_valid(&json!({"type": "function"})));
}

#[test]
fn outputs_have_the_official_shapes() {
    let out = ToolOutput {
        call_id: "call_abc".into(),
        output: json!({"ok": false, "kind": "invalid_classification", "retryable": false,
                        "message": "…", "allowed_values": ["SEM CONEXÃO"]}),
    };
    assert_valid("FunctionCallOutputItemParam", &out.responses_item());
    assert_valid("ChatCompletionRequestToolMessage", &out.chat_message());
}

#[test]
fn the_call_shapes_we_parse_are_the_official_ones() {
    let responses_call = json!({"type": "function_call", "id": "fc_1", "call_id": "call_1",
        "name": "abrir_ticket_crm", "arguments": "{}", "status": "completed"});
    assert_valid("FunctionToolCall", &responses_call);
    let parsed = helpdesk_openai_tools::calls::from_responses(&json!({"output": [responses_call]}));
    assert_eq!(parsed.len(), 1);
    let chat_call = json!({"id": "call_2", "type": "function",
        "function": {"name": "consultar_ticket", "arguments": "{\"numero\":1}"}});
    assert_valid("ChatCompletionMessageToolCall", &chat_call);
    let parsed = helpdesk_openai_tools::calls::from_chat(&json!({"tool_calls": [chat_call]}));
    assert_eq!(parsed[0].call_id, "call_2");
}
