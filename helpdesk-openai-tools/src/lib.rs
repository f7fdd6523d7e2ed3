//! # helpdesk-openai-tools
//!
//! AI function calling over the helpdesk, for the Responses API first and Chat Completions
//! second (the Assistants API was shut down on 2026-08-26).
//!
//! * [`tools`]: the tools, defined once, rendered for both APIs, strict-mode schemas (checked
//!   by [`schema::check_strict`]); `abrir_ticket_crm` and `transferir_para_humano` keep our
//!   users' names, fields and descriptions; a variant makes invalid setor × motivo pairs
//!   impossible to express.
//! * [`calls`]: the model's calls in (`function_call` items, `tool_calls`) and the outputs
//!   back (`function_call_output`, `role: tool`).
//! * [`dispatch`]: one output for every call id on every path, typed errors the model can act
//!   on, identical calls run once, hand-off to a human after repeated invalid calls.
//! * [`crm`]: the external CRM call with an idempotency key, retries only where they can help,
//!   timeouts, a deadline and a [`breaker`].
//!
//! ```
//! use helpdesk_core::domain::catalogue::Catalogue;
//! use helpdesk_openai_tools::tools::{responses_tools, tool_set, ToolOptions};
//! let tools = responses_tools(&tool_set(&Catalogue::default(), &ToolOptions::default()));
//! assert_eq!(tools[0]["name"], "abrir_ticket_crm");
//! assert_eq!(tools[0]["strict"], true);
//! ```

pub mod breaker;
pub mod calls;
pub mod crm;
pub mod dispatch;
pub mod schema;
pub mod tools;

pub use calls::{ToolCall, ToolOutput};
pub use crm::{CrmClient, CrmSettings};
pub use dispatch::{DispatchSettings, Dispatcher, ToolContext, Turn};
