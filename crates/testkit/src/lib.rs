//! What Tidings' test crates and its xtask share, in one place instead of copies or `#[path]`
//! includes: free loopback ports and waiting until one listens ([`free_port`],
//! [`wait_for_port`]), a `redis-server` of a test's own ([`RedisServer`]), the nginx
//! configuration in front of several nodes ([`nginx::config`]), and, with the feature `sse`,
//! helpers over an independent SSE reader (`eventsource-stream`): a stream's key from its
//! `hello`, whether it ends cleanly ([`sse`]).
//!
//! Dev-only: never a dependency of a library crate, never published.

pub mod nginx;
mod ports;
mod redis;
#[cfg(feature = "sse")]
pub mod sse;

pub use ports::{free_port, wait_for_port};
pub use redis::RedisServer;
