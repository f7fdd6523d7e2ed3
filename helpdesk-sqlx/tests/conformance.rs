//! The whole store conformance suite on Postgres, with real parallel connections.
//! Needs DATABASE_URL (tests/run.sh provides a throwaway server); without it the tests fail
//! and say so, they never skip.

use helpdesk_core::store::Store;
use helpdesk_sqlx::PgStore;
use std::sync::Arc;

async fn store() -> Arc<dyn Store> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
    });
    let s = PgStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    s.migrate()
        .await
        .unwrap_or_else(|e| panic!("migrations failed: {e}"));
    Arc::new(s)
}

helpdesk_core::store_conformance_tests!(store());

/// The listing case again with the free search forced onto its scanning plan (any search
/// matching a contact): both plans must give the reference results.
mod search_by_scan {
    use super::*;

    async fn store() -> Arc<dyn Store> {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!("DATABASE_URL is not set: run `bash tests/run.sh` (it starts a throwaway Postgres) or point DATABASE_URL at a server")
        });
        let s = PgStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
            .with_search_id_limit(0);
        s.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrations failed: {e}"));
        Arc::new(s)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn listing_filters_paginates_and_counts_facets() {
        helpdesk_core::testing::conformance::listing_filters_paginates_and_counts_facets(
            store().await,
        )
        .await;
    }
}
