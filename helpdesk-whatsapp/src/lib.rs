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
//! Sending (the `Channel` implementation over the Graph API) is not in this version yet.

pub mod webhook;
