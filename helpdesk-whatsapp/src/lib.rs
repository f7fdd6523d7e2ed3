//! # helpdesk-whatsapp
//!
//! The WhatsApp Cloud API channel (webhooks in, messages out). Not implemented yet: this crate
//! is a placeholder in the workspace so the layout is stable.
