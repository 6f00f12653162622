//! What Tidings' test crates and its xtask share, in one place instead of copies or `#[path]`
//! includes: free loopback ports and waiting until one listens ([`free_port`],
//! [`wait_for_port`]), a `redis-server` of a test's own ([`RedisServer`]), the nginx
//! configuration in front of several nodes ([`nginx::config`]), over TLS with a
//! self-signed certificate for localhost ([`certificate`]); with the feature `sse`,
//! helpers over an independent SSE reader (`eventsource-stream`): a stream's key from its
//! `hello`, whether it ends cleanly ([`sse`]); with the feature `tokio`, polling until a
//! condition holds (`poll_until`); with the feature `tls`, a TLS client that trusts one
//! certificate ([`tls_client`]); with the feature `browser`, what the browser
//! suites share (the fixture server's address, failing in one line without it, waiting with a
//! deadline, fetching from it: [`browser`]).
//!
//! Dev-only: never a dependency of a library crate, never published.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod certificate;
#[cfg(not(target_arch = "wasm32"))]
pub mod nginx;
#[cfg(not(target_arch = "wasm32"))]
mod ports;
#[cfg(not(target_arch = "wasm32"))]
mod redis;
#[cfg(feature = "sse")]
pub mod sse;
#[cfg(feature = "tls")]
pub mod tls_client;
#[cfg(feature = "tokio")]
mod wait;

#[cfg(not(target_arch = "wasm32"))]
pub use ports::{free_port, wait_for_port};
#[cfg(not(target_arch = "wasm32"))]
pub use redis::RedisServer;
#[cfg(feature = "tokio")]
pub use wait::poll_until;
