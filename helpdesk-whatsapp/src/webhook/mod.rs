//! Webhooks in: handshake, signature, and payload parsing.

mod handler;
mod parse;
mod signature;

pub use handler::{PostOutcome, Report, WebhookHandler};
pub use parse::{MessageMeta, ParseError, StatusMeta, WebhookItem, parse, parse_value};
pub use signature::{SignatureError, VerifyRefused, sign, verify_signature, verify_subscription};
