//! Support code for the runnable examples in this folder (`cargo run --example NAME`):
//! the parts worth unit-testing live here, the `main`s stay thin.

#[path = "support/sla_calc.rs"]
pub mod sla_calc;

#[path = "support/ai_agent.rs"]
pub mod ai_agent;

#[path = "support/server.rs"]
pub mod server;

#[path = "support/load.rs"]
pub mod load;
