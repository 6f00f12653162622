//! What wakes a stream besides its records: the hub's hints (`shared.rs` sends them; hub streams,
//! own streams and the hub's writers of `direct.rs` listen).

/// What wakes a stream besides its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// A stream, or every stream, was ordered closed, or the hub drains: look at the keys.
    Close,
    /// Time for a hub stream's `heartbeat`.
    Heartbeat,
}
