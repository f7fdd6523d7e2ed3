//! # helpdesk-whatsapp
//!
//! The WhatsApp Cloud API side of a helpdesk. This version covers webhooks in:
//!
//! * [`webhook::verify_subscription`]: the `hub.*` handshake;
//! * [`webhook::verify_signature`]: `X-Hub-Signature-256` over the raw body bytes, in constant
//!   time, before anything is parsed;
//! * [`webhook::parse`]: every entry, change, message and status of a payload as typed
//!   [`webhook::WebhookItem`]s carrying core's channel-neutral types. An unknown message kind
//!   is kept with its raw JSON; a malformed item is reported on its own and never costs the
//!   rest of the batch;
//! * [`webhook::WebhookHandler`]: the whole `GET`/`POST` behaviour without an HTTP framework
//!   (signature → parse → ingest / apply status → the status code to answer), acknowledging
//!   without waiting on the Graph API.
//!
//!
//! And messages out:
//!
//! * [`graph::GraphClient`]: the Graph API with base URL, version (v26.0), token and timeout
//!   as settings; retries with exponential backoff and jitter only for what can succeed
//!   (rate limits, 5xx, timeouts, Meta's transient codes), typed [`graph::GraphError`]s
//!   classified by Graph error code; mark as read with typing indicator; media upload and
//!   download;
//! * [`WhatsappChannel`]: core's `Channel` (text, reply-to, templates, media by id or link,
//!   buttons, lists, reactions, locations, contacts).

mod channel;
pub mod graph;
#[cfg(feature = "axum")]
mod router;
pub mod webhook;

pub use channel::{WhatsappChannel, message_body};
#[cfg(feature = "axum")]
pub use router::router;
