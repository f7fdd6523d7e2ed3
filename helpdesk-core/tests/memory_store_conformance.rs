//! The in-memory store runs the whole store conformance suite.

#![allow(clippy::unwrap_used)]

use helpdesk_core::memory::MemoryStore;
use std::sync::Arc;

helpdesk_core::store_conformance_tests!(async { Arc::new(MemoryStore::new()) });
