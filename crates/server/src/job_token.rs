//! A job's token as the log keeps it: a record on the cluster's own topic (no stream sends it)
//! holding the token's SHA-256 (the log holds nothing that opens the stream), so that every
//! node can check the token a job's stream is asked with (`jobs.rs`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tidings_wire::Event;

/// The record that gives a job its token.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JobToken {
    pub(crate) job: String,
    pub(crate) digest: [u8; 32],
}

impl JobToken {
    pub(crate) fn new(job: String, token: &str) -> Self {
        Self { job, digest: digest(token) }
    }
}

impl Event for JobToken {
    const NAME: &'static str = "job-token";
}

/// What the log keeps of a token. Digests of a secret compared in any time tell nothing about
/// the secret.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token).into()
}
