//! The desk in memory (feature `memory`, on by default): a complete [`Store`](crate::store::Store)
//! and a [`Channel`](crate::channel::Channel) that keeps what it would send. For trying the
//! library, for demos and for tests of an embedding application: every workflow behaves as on
//! Postgres (the same conformance suite runs on both), nothing survives the process.
//!
//! Both can be told to fail ([`MemoryStore::set_unavailable`], [`RecordingChannel::fail_next`]) so an
//! application can test how it behaves in an outage.

mod channel;
mod store;

pub use channel::{RecordingChannel, SentMessage};
pub use store::MemoryStore;
