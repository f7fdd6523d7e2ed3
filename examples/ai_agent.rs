//! An AI assistant over the helpdesk on the Responses API.
//!
//! ```text
//! OPENAI_API_KEY=… CRM_TICKET_URL=https://crm.example.com/webhook/abrir_ticket \
//!   cargo run --example ai_agent -- --message "Enviei o comprovante" \
//!     --conversation-id 1234 --client-document 529.982.247-25
//! cargo run --example ai_agent -- --print-tools responses|chat
//! ```
//!
//! Environment: `OPENAI_API_KEY` (required to run), `OPENAI_BASE_URL` (default the public
//! API), `OPENAI_MODEL` (default `gpt-5-mini`), `CRM_TICKET_URL` (without it
//! `abrir_ticket_crm` is not offered). Prints the model's answer, then one JSON line with the
//! tool calls executed and their outcomes.

use helpdesk_examples::ai_agent::{AgentConfig, print_tools, run};
use std::io::Write;

fn usage() -> ! {
    eprintln!(
        "usage: ai_agent --message TEXT [--conversation-id ID] [--client-document CPF_OR_CNPJ]\n       ai_agent --print-tools responses|chat"
    );
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut message, mut conversation, mut document, mut print) = (None, None, None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--message" => message = Some(value()),
            "--conversation-id" => conversation = Some(value()),
            "--client-document" => document = Some(value()),
            "--print-tools" => print = Some(value()),
            _ => usage(),
        }
    }
    let crm_url = std::env::var("CRM_TICKET_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(api) = print {
        match print_tools(&api, true) {
            // A closed pipe (`| head`) is not an error worth a panic.
            Ok(s) => {
                let _ = writeln!(std::io::stdout(), "{s}");
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let Some(message) = message else { usage() };
    let Ok(api_key) = std::env::var("OPENAI_API_KEY") else {
        eprintln!("error: OPENAI_API_KEY is not set");
        std::process::exit(2);
    };
    let cfg = AgentConfig {
        base_url: std::env::var("OPENAI_BASE_URL")
            .unwrap_or_else(|_| "https://api.openai.com/v1".into()),
        api_key,
        model: std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5-mini".into()),
        crm_url,
        message,
        conversation_id: conversation.unwrap_or_else(|| "demo".into()),
        client_document: document,
        max_rounds: 8,
    };
    match run(cfg).await {
        Ok(r) => {
            println!("{}", r.answer);
            println!("{}", r.summary);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
