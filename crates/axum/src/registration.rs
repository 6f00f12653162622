//! A stream's registration with its hub: counted in the gauge, known by its key (so
//! [`Hub::close_stream`](crate::Hub::close_stream) finds it) until dropped.

use std::any::Any;
use std::sync::Arc;

use crate::metrics as m;
use crate::shared::Shared;
use crate::stream_key::StreamKey;

/// One open stream: counted in the gauge and known by its key until dropped.
pub(crate) struct Open {
    pub(crate) shared: Arc<Shared>,
    key: u128,
    /// The hub's count of close-everything orders when this stream opened.
    all_closed: u64,
}

impl Open {
    pub(crate) fn new(shared: Arc<Shared>, key: Option<StreamKey>) -> Self {
        let key = key.map_or(0, StreamKey::bits);
        metrics::gauge!(m::CLIENTS_CONNECTED).increment(1.0);
        let all_closed = shared.register(key);
        Self { shared, key, all_closed }
    }

    /// Whether this stream was ordered closed, by its key or with every stream.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.is_closed(self.key, self.all_closed)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(m::CLIENTS_CONNECTED).decrement(1.0);
        self.shared.unregister(self.key);
    }
}

/// What a stream keeps alive until it ends, whatever ends it (`guard` on a stream): the guards
/// given, dropped in the order they were given.
#[derive(Default)]
pub(crate) struct Guards(Option<Box<dyn Any + Send>>);

impl Guards {
    pub(crate) fn add(&mut self, guard: impl Send + 'static) {
        self.0 = Some(match self.0.take() {
            None => Box::new(guard),
            Some(earlier) => Box::new((earlier, guard)),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}
