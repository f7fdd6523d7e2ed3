//! Runnable examples for the helpdesk workspace (see `examples/*.rs`). This library target is
//! empty; it only gives the examples a package to live in.
