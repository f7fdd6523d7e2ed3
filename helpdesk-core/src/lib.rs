//! # helpdesk-core
//!
//! The pure domain of an embeddable customer-service desk: tickets and their lifecycle,
//! Kanban stages, queues, agents, routing, SLA business-hours arithmetic, setor × motivo
//! classification, canned responses, events, and the [`Store`](store::Store) and
//! [`Channel`](channel::Channel) traits, plus the [`Helpdesk`] service
//! that runs every workflow once for every store.
//!
//! Core does no I/O and never reads the clock: time comes in as an argument or through an
//! injected [`Clock`](clock::Clock).
//!
//! A desk in memory (the default `memory` feature): a queue with an agent, a customer's
//! WhatsApp message that becomes a ticket assigned to her, her reply and the resolution.
//! Swap [`MemoryStore`](memory::MemoryStore) for `helpdesk_sqlx::PgStore` and the channel
//! for `helpdesk_whatsapp`'s to run it for real; nothing else changes.
//!
//! ```
//! use helpdesk_core::actor::Actor;
//! use helpdesk_core::channel::{InboundMessage, InboundSender};
//! use helpdesk_core::clock::SystemClock;
//! use helpdesk_core::domain::{message::MessageContent, party::ChannelKind};
//! use helpdesk_core::domain::team::{Presence, Role};
//! use helpdesk_core::domain::ticket::TicketStatus;
//! use helpdesk_core::memory::{MemoryStore, RecordingChannel};
//! use helpdesk_core::service::{NewAgent, NewChannelAccount, NewOrganization, NewQueue};
//! use helpdesk_core::Helpdesk;
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk_core::Result<()> {
//! let whatsapp = Arc::new(RecordingChannel::new());
//! let hd = Helpdesk::new(Arc::new(MemoryStore::new()), whatsapp.clone(), Arc::new(SystemClock));
//! let org = hd.create_organization(NewOrganization::brazil("Acme Internet")).await?.id;
//! let admin = hd.desk(org, Actor::System); // a tenant and who acts in it
//! let queue = admin.create_queue(NewQueue::new("Suporte")).await?;
//! let ana = admin.create_agent(NewAgent {
//!     name: "Ana".into(), email: "ana@acme.example".into(), role: Role::Agent,
//!     capacity: 5, presence: Presence::Online,
//! }).await?;
//! admin.add_queue_member(queue.id, ana.id, vec![]).await?;
//! admin.add_channel_account(NewChannelAccount {
//!     kind: ChannelKind::Whatsapp, external_id: "104000000000001".into(),
//!     name: "WhatsApp".into(), default_queue_id: Some(queue.id),
//! }).await?;
//!
//! // The channel adapter turns a webhook into this and hands it over.
//! let arrived = hd.ingest(InboundMessage {
//!     channel: ChannelKind::Whatsapp, account_external_id: "104000000000001".into(),
//!     external_id: "wamid.1".into(), content: MessageContent::text("Minha internet caiu"),
//!     from: InboundSender { phone: Some("5511987654321".into()), ..Default::default() },
//!     sent_at: hd.now(), reply_to_external_id: None, tracking: None,
//! }).await?;
//! assert_eq!(arrived.assigned_to, Some(ana.id));
//!
//! let as_ana = admin.as_actor(Actor::agent(ana.id));
//! as_ana.reply(arrived.ticket_id, MessageContent::text("Já estamos verificando!")).await?;
//! let ticket = as_ana.resolve(arrived.ticket_id).await?;
//! assert_eq!(ticket.status, TicketStatus::Resolved);
//! let sent = whatsapp.sent();
//! assert!(sent.iter().any(|m| m.message.content.text_preview() == Some("Já estamos verificando!")));
//! # Ok(()) }
//! ```
//!
//! # Where to go next
//!
//! - [`Desk`](service::Desk): the common calls, scoped to a tenant and an actor;
//!   [`Helpdesk`] has every workflow, and the calls outside a tenant (ingesting a channel's
//!   message, scanning SLA clocks, relaying events).
//! - [`Error`]: one meaning per variant ([`Error::Conflict`] is a race lost more times than the
//!   service reruns, so trying again can succeed; [`Error::AlreadyExists`] a key taken;
//!   [`Error::Refused`] a state that forbids it).
//! - [`EventData`](domain::records::EventData): the events a desk emits and the JSON webhook
//!   subscribers receive.
//! - [`sla`]: business-hours calendars and SLA policies; [`store::report`] the reports.
//! - [`store::guide`]: implementing a store, and the conformance suite that proves it.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod actor;
pub mod channel;
pub mod clock;
pub mod domain;
pub mod error;
pub mod ids;
#[cfg(feature = "memory")]
pub mod memory;
pub mod routing;
pub mod service;
pub mod sla;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

/// The attribute a [`Channel`](channel::Channel), [`Store`](store::Store) or
/// [`EventSink`](service::EventSink) implementation puts on its `impl` block.
pub use async_trait::async_trait;
/// Instants and durations (`chrono::Duration::hours(2)` for an SLA target).
pub use chrono;
/// Time zones (calendars and organizations name one: `chrono_tz::America::Sao_Paulo`).
pub use chrono_tz::{self, Tz};
pub use error::{Entity, Error, ErrorKind, Result};
pub use service::Helpdesk;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "memory"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
