//! The inbound fast path's SQL (one join, one CTE statement) against the full workflow on
//! Postgres: random scripts leave the same rows either way. Needs DATABASE_URL (tests/run.sh
//! provides one); never skips.

#![allow(clippy::unwrap_used)]

use helpdesk_core::store::Store;
use helpdesk_core::testing::conformance::{fast_path_matches_workflow, inbound_ops};
use helpdesk_sqlx::PgStore;
use proptest::prelude::*;
use std::sync::Arc;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn fast_path_and_workflow_leave_the_same_rows_on_postgres(ops in inbound_ops()) {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
        });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let pg = PgStore::connect(&url).await.unwrap();
            pg.migrate().await.unwrap();
            let store: Arc<dyn Store> = Arc::new(pg);
            fast_path_matches_workflow(store, &ops).await;
        });
    }
}
