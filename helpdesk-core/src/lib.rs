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
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod actor;
pub mod channel;
pub mod clock;
pub mod domain;
pub mod error;
pub mod ids;
pub mod routing;
pub mod service;
pub mod sla;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

/// Time zones (calendars and organizations name one: `chrono_tz::America::Sao_Paulo`).
pub use chrono_tz::{self, Tz};
pub use error::{Error, ErrorKind, Result};
pub use service::Helpdesk;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
