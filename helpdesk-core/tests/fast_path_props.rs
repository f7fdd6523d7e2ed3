//! The inbound fast path against the reference (the full workflow) on the memory store: random
//! scripts of messages (new, redelivered, out of order), replies and status moves leave the
//! same rows either way. helpdesk-sqlx runs the same property on Postgres.

#![allow(clippy::unwrap_used)]

use helpdesk_core::memory::MemoryStore;
use helpdesk_core::store::Store;
use helpdesk_core::testing::conformance::{fast_path_matches_workflow, inbound_ops};
use proptest::prelude::*;
use std::sync::Arc;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn fast_path_and_workflow_leave_the_same_rows(ops in inbound_ops()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            fast_path_matches_workflow(store, &ops).await;
        });
    }
}
