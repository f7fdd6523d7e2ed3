//! # helpdesk-sqlx
//!
//! The Postgres implementation of `helpdesk_core::store::Store`. Not implemented yet: this
//! crate is a placeholder in the workspace so the layout is stable; see the project's issue
//! for the Postgres store.
