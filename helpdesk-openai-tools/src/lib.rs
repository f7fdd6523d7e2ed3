//! # helpdesk-openai-tools
//!
//! AI function calling over the helpdesk (tool definitions, dispatch, the external CRM call).
//! Not implemented yet: this crate is a placeholder in the workspace so the layout is stable.
