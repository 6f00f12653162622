//! What [`EventSourceBuilder`](crate::EventSourceBuilder) collects for
//! [`EventSource::open`](crate::EventSource::open), read by the driver.

use std::any::Any;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

use crate::transport::Connect;

use crate::{HiddenTabPolicy, ReconnectPolicy};

/// The options of one source.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) with_credentials: bool,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    pub(crate) classify_failures: bool,
    pub(crate) heartbeat_timeout: Option<Duration>,
    pub(crate) heartbeat_event: Cow<'static, str>,
    pub(crate) last_event_id_param: String,
    pub(crate) last_event_id: Option<String>,
    /// Sharing across tabs, when asked for: how the driver joins a group of tabs
    /// (`driver::TabsEntry`, filled by `tabs.rs`), named only by `share_across_tabs` so that a
    /// page that never asks links none of it; held as `Any` so that these options need not
    /// know the driver.
    pub(crate) tabs: Option<&'static (dyn Any + Send + Sync)>,
    /// The transport, when not the browser's `EventSource` (the fetch transport's options):
    /// named only by [`fetch`](crate::EventSourceBuilder::fetch), so that a page that never
    /// asks links none of it.
    pub(crate) transport: Option<Rc<dyn Connect>>,
    pub(crate) hidden_tab_policy: HiddenTabPolicy,
    /// Where the page's visibility is read (`hidden`, `visibilitychange`): the document,
    /// unless a test gives its own.
    pub(crate) visibility_target: Option<web_sys::EventTarget>,
}
