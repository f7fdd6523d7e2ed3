//! Test support (feature `testing`): the store conformance suite every store runs. The
//! in-memory store and channel it runs on are in [`memory`](crate::memory), the manual clock in
//! [`clock`](crate::clock).

pub mod conformance;
