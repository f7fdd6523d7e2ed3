//! Test support (feature `testing`): the in-memory store, a recording channel, and the store
//! conformance suite every store runs.

mod channel;
pub mod conformance;
mod memory;

pub use channel::{RecordingChannel, SentMessage};
pub use memory::MemoryStore;
