//! # Transport: how requests arrive and how replies leave
//!
//! Everything between the socket and the lab's layers, none of it about the
//! lab's lessons: accepting connections with time limits on slow or idle
//! clients and a graceful stop ([`connections`], [`shutdown`]), the rules a
//! browser needs to call across origins ([`cors`]), and unary gRPC-Web replies
//! written in one piece so no proxy's Nagle delay is mistaken for the
//! protocol's latency ([`whole_reply`]).

pub mod connections;
pub mod cors;
pub mod shutdown;
pub mod whole_reply;
