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
    /// How the driver arms its watchdog (`driver::WatchdogEntry`), set only by
    /// [`heartbeat_timeout`](crate::EventSourceBuilder::heartbeat_timeout), so that a page
    /// without a watchdog links none of it; `Any` as `visibility` below.
    pub(crate) watchdog: Option<&'static (dyn Any + Send + Sync)>,
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
    /// How the driver watches the page's visibility (`driver::VisibilityEntry`), set only by
    /// [`hidden_tab_policy`](crate::EventSourceBuilder::hidden_tab_policy) and
    /// [`share_across_tabs`](crate::EventSourceBuilder::share_across_tabs), the options that
    /// need it, so that a page that sets neither links none of the watcher; held as `Any` so
    /// that these options need not know the driver.
    pub(crate) visibility: Option<&'static (dyn Any + Send + Sync)>,
    /// Where the page's visibility is read (`hidden`, `visibilitychange`): the document,
    /// unless a test gives its own.
    pub(crate) visibility_target: Option<web_sys::EventTarget>,
}
