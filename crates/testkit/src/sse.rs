//! Helpers over a stream read by `eventsource-stream`, the independent SSE parser the server
//! tests use.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::timeout;

/// How long [`stream_key`] waits for the `hello`.
const WAIT: Duration = Duration::from_secs(5);

/// The stream's key, from its `hello` (skipping anything before it); panics after 5 s.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use futures::StreamExt;
/// let hello = tidings_wire::Hello {
///     epoch: 1, heartbeat_ms: 15_000, server_version: "1".into(), stream_key: "ab12".into(),
/// };
/// let text = format!("event: hello\ndata: {}\n\n", serde_json::to_string(&hello).unwrap());
/// let bytes = futures::stream::iter([Ok::<_, std::io::Error>(text.into_bytes())]);
/// let mut events = eventsource_stream::Eventsource::eventsource(bytes);
/// assert_eq!(tidings_testkit::sse::stream_key(&mut events).await, "ab12");
/// # }
/// ```
pub async fn stream_key<S, E>(events: &mut S) -> String
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    loop {
        let event = timeout(WAIT, events.next()).await.expect("a hello within 5 s");
        let event = event.expect("a hello before the end").expect("a well-formed stream");
        if event.event == "hello" {
            let hello: tidings_wire::Hello = serde_json::from_str(&event.data).expect("a hello");
            return hello.stream_key;
        }
    }
}

/// Whether the stream ends cleanly (without a `shutdown`, which a closed stream never says)
/// within a second.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let bytes = futures::stream::iter([Ok::<_, std::io::Error>(b"data: 1\n\n".to_vec())]);
/// let mut events = eventsource_stream::Eventsource::eventsource(bytes);
/// assert!(tidings_testkit::sse::ends(&mut events).await);
/// # }
/// ```
pub async fn ends<S, E>(events: &mut S) -> bool
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    timeout(Duration::from_secs(1), async {
        while let Some(event) = events.next().await {
            assert_ne!(event.expect("a clean end").event, "shutdown", "a close says nothing");
        }
    })
    .await
    .is_ok()
}
