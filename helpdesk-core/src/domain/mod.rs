//! Domain types and the pure rules attached to them.

pub mod board;
pub mod canned;
pub mod catalogue;
pub mod document;
pub mod message;
pub mod party;
pub mod phone;
pub mod records;
pub mod team;
pub mod text;
pub mod ticket;
pub mod tracking;
