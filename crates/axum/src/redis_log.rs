//! The event log on Redis Streams, for several server instances that any client can resume on
//! (feature `redis`).
//!
//! Keys (one Redis hash slot, so it also runs on a cluster): `{prefix}:events`, a stream whose
//! entry ids *are* the event ids (`<epoch>-<seq>`, Redis's own `<ms>-<n>` form: the epoch is the
//! millisecond time the log was first used, the sequence numbers count from 1); `{prefix}:seq`,
//! the last sequence number given out; `{prefix}:epoch`.
//!
//! - **append**: one Lua script takes the next number and adds the entry (`XADD … MAXLEN ~
//!   capacity`), so ids of one epoch increase by one per append whichever instance appends. If
//!   the epoch key is gone (a Redis that restarted empty), the script starts a new epoch (this
//!   instance's clock): clients of the old one get a `resync`, never a silent gap.
//! - **live**: each instance reads the stream with `XREAD BLOCK` on a connection of its own, from
//!   the last entry it passed on, and sends every entry to its subscribers in id order, after it
//!   is readable: what the contract of [`EventLog`] asks. When Redis goes away the reader retries
//!   (100 ms doubling to 2 s) and goes on from where it was.
//! - **backlog**: `XRANGE` after the id. An id of another epoch, older than what is kept, or
//!   newer than the last number given out cannot be served ([`ResumeError`]); Redis unreachable is
//!   [`ResumeError::Unavailable`] (the stream closes, the client retries).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Value};
use tidings_wire::{EventId, Topic};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::event_log::{AppendError, EventLog, Record, ResumeError};

/// How many records a live stream may fall behind before it lags (as [`MemoryLog`](crate::MemoryLog)).
const LIVE_BUFFER: usize = 1024;
/// How many entries one `XREAD` takes at most.
const READ_COUNT: usize = 1_000;
/// How long one `XREAD` blocks on the server before it asks again.
const BLOCK_MS: usize = 1_000;
/// How long a command waits for Redis's answer before the store counts as away.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

const APPEND: &str = r"
local epoch = redis.call('GET', KEYS[3])
-- This node saw numbers of this epoch up to ARGV[7] and Redis has fewer: it lost some (restored
-- from an older save); giving them again would mislead clients, so a new epoch starts.
if epoch and epoch == ARGV[6] and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[7]) then
    epoch = false
end
if not epoch then
    epoch = ARGV[1]
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], epoch .. '-' .. seq,
    'topic', ARGV[3], 'name', ARGV[4], 'data', ARGV[5])
return {epoch, seq}
";

const POSITION: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
    epoch = ARGV[1]
    redis.call('DEL', KEYS[1], KEYS[3])
    redis.call('SET', KEYS[2], epoch)
end
local seq = redis.call('GET', KEYS[3]) or '0'
return {epoch, seq}
";

const RESTART: &str = r"
if redis.call('GET', KEYS[3]) == ARGV[1] then
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('SET', KEYS[3], ARGV[2])
end
return redis.call('GET', KEYS[3])
";

/// Why [`RedisLogBuilder::connect`] failed.
///
/// # Examples
///
/// ```
/// use std::error::Error as _;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// let error = runtime.block_on(tidings_axum::RedisLog::builder("http://x").connect()).unwrap_err();
/// assert_eq!(error.to_string(), "not a Redis URL");
/// assert!(error.source().is_some(), "the Redis client's error, kept");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RedisLogError {
    /// The URL is not a Redis URL (`redis://host:port/db`, `unix:///path/to.sock`); the Redis
    /// client's error is the source.
    #[error("not a Redis URL")]
    Url(#[source] redis::RedisError),
    /// Redis could not be reached, or answered with an error (the source: the client's error,
    /// or the time out).
    #[error("cannot reach Redis at {url}")]
    Unreachable {
        /// The URL, without a password.
        url: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The event log on Redis Streams (see the module documentation). Cheap to clone? No: one per
/// process, given to [`HubBuilder::log`](crate::HubBuilder::log); dropping it stops its reader.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), tidings_axum::RedisLogError> {
/// let log = tidings_axum::RedisLog::builder("redis://127.0.0.1:6379/0").connect().await?;
/// let hub = tidings_axum::Hub::builder().log(log).build();
/// # let _ = hub;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisLog {
    inner: Arc<Inner>,
    reader: JoinHandle<()>,
}

#[derive(Debug)]
struct Inner {
    client: redis::Client,
    keys: Keys,
    capacity: usize,
    /// Commands other than the live reader's (multiplexed: cheap to clone per call).
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// The epoch and last sequence number seen (appended or read).
    epoch: AtomicU64,
    head: AtomicU64,
    available: AtomicBool,
    /// Replaced (closing every subscriber's feed) when the reader finds it missed entries.
    sender: std::sync::Mutex<broadcast::Sender<Arc<Record>>>,
}

#[derive(Debug)]
struct Keys {
    events: String,
    seq: String,
    epoch: String,
}

/// Settings for a [`RedisLog`], then [`connect`](Self::connect).
///
/// | setting | default |
/// |---|---|
/// | [`prefix`](Self::prefix) | `tidings`: keys `{tidings}:events`, `{tidings}:seq`, `{tidings}:epoch` |
/// | [`capacity`](Self::capacity) | the newest 10,000 events (about: Redis trims in whole nodes) |
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), tidings_axum::RedisLogError> {
/// let log = tidings_axum::RedisLog::builder("unix:///run/redis.sock")
///     .prefix("app")
///     .capacity(50_000)
///     .connect()
///     .await?;
/// # drop(log);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisLogBuilder {
    url: String,
    prefix: String,
    capacity: usize,
}

impl RedisLogBuilder {
    /// The prefix of the log's keys (several applications, or tests, on one Redis).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = tidings_axum::RedisLog::builder("redis://127.0.0.1/0").prefix("staging");
    /// # let _ = builder;
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many of the newest events the log keeps for resuming clients.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = tidings_axum::RedisLog::builder("redis://127.0.0.1/0").capacity(1_000);
    /// # let _ = builder;
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Connects, and starts the live reader.
    ///
    /// # Errors
    /// [`RedisLogError`] when the URL is not Redis's or Redis does not answer (within 5 s).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() {
    /// match tidings_axum::RedisLog::builder("unix:///run/redis.sock").connect().await {
    ///     Ok(log) => drop(log),
    ///     Err(error) => eprintln!("{error}"),
    /// }
    /// # }
    /// ```
    pub async fn connect(self) -> Result<RedisLog, RedisLogError> {
        RedisLog::connect(&self.url, &self.prefix, self.capacity).await
    }
}

impl RedisLog {
    /// A log on the Redis at `url` (`redis://host:port/db` or `unix:///path/to.sock`), with the
    /// defaults of [`RedisLogBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = tidings_axum::RedisLog::builder("redis://127.0.0.1:6379/0");
    /// # let _ = builder;
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisLogBuilder {
        RedisLogBuilder { url: url.into(), prefix: "tidings".to_owned(), capacity: 10_000 }
    }

    async fn connect(url: &str, prefix: &str, capacity: usize) -> Result<Self, RedisLogError> {
        let client = redis::Client::open(url).map_err(RedisLogError::Url)?;
        let shown = client.get_connection_info().addr().to_string();
        let unreachable = |error: redis::RedisError| RedisLogError::Unreachable {
            url: shown.clone(),
            source: Box::new(error),
        };
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(ANSWER_TIMEOUT));
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|elapsed| RedisLogError::Unreachable {
            url: shown.clone(),
            source: format!("no answer in 5 s ({elapsed})").into(),
        })?
        .map_err(unreachable)?;
        let keys = Keys {
            events: format!("{{{prefix}}}:events"),
            seq: format!("{{{prefix}}}:seq"),
            epoch: format!("{{{prefix}}}:epoch"),
        };
        let (sender, _) = broadcast::channel(LIVE_BUFFER);
        let inner = Arc::new(Inner {
            client,
            keys,
            capacity: capacity.max(1),
            connection: tokio::sync::Mutex::new(Some(connection)),
            epoch: AtomicU64::new(0),
            head: AtomicU64::new(0),
            available: AtomicBool::new(true),
            sender: std::sync::Mutex::new(sender),
        });
        let (epoch, seq) = inner.position().await.map_err(unreachable)?;
        inner.epoch.store(epoch, Ordering::SeqCst);
        inner.head.store(seq, Ordering::SeqCst);
        let reader = tokio::spawn(read_live(Arc::downgrade(&inner), EventId::new(epoch, seq)));
        Ok(Self { inner, reader })
    }

    /// Whether Redis answered the last command (an append, a read, the live reader's).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(log: tidings_axum::RedisLog) {
    /// if !log.is_available() { eprintln!("Redis is away"); }
    /// # }
    /// ```
    pub fn is_available(&self) -> bool {
        self.inner.available.load(Ordering::SeqCst)
    }
}

impl Drop for RedisLog {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Inner {
    /// A connection for one command, made again after an error.
    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        // Answers may take longer than the client's default 500 ms (Redis forking, a burst of
        // reads): giving up on an append that was stored would answer 503 for a stored event.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(ANSWER_TIMEOUT));
        let connection = tokio::time::timeout(
            Duration::from_secs(2),
            self.client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "no answer in 2 s")))??;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Notes the outcome of a command: available or not; a broken connection is made again.
    async fn noted<T>(&self, result: redis::RedisResult<T>) -> redis::RedisResult<T> {
        match &result {
            Ok(_) => self.available.store(true, Ordering::SeqCst),
            Err(error) => {
                self.available.store(false, Ordering::SeqCst);
                if error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_unrecoverable_error()
                {
                    *self.connection.lock().await = None;
                }
            }
        }
        result
    }

    /// The epoch (started now if Redis has none) and the last sequence number given out.
    async fn position(&self) -> redis::RedisResult<(u64, u64)> {
        let result = async {
            let mut connection = self.connection().await?;
            let (epoch, seq): (String, String) = redis::Script::new(POSITION)
                .key(&self.keys.events)
                .key(&self.keys.epoch)
                .key(&self.keys.seq)
                .arg(crate::clock::now_ms().max(1))
                .invoke_async(&mut connection)
                .await?;
            Ok((number(&epoch)?, number(&seq)?))
        }
        .await;
        self.noted(result).await
    }

    fn sender(&self) -> std::sync::MutexGuard<'_, broadcast::Sender<Arc<Record>>> {
        self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a new epoch if Redis's is still `old` (it lost entries this log passed on: their
    /// numbers would be given again). The epoch now.
    async fn restart_epoch(&self, old: u64) -> redis::RedisResult<u64> {
        let result = async {
            let mut connection = self.connection().await?;
            let epoch: String = redis::Script::new(RESTART)
                .key(&self.keys.events)
                .key(&self.keys.seq)
                .key(&self.keys.epoch)
                .arg(old)
                .arg(crate::clock::now_ms().max(old + 1))
                .invoke_async(&mut connection)
                .await?;
            number(&epoch)
        }
        .await;
        self.noted(result).await
    }

    fn saw(&self, id: EventId) {
        if id.epoch() != self.epoch.load(Ordering::SeqCst) {
            self.epoch.store(id.epoch(), Ordering::SeqCst);
            self.head.store(id.seq(), Ordering::SeqCst);
        } else {
            self.head.fetch_max(id.seq(), Ordering::SeqCst);
        }
    }
}

fn number(text: &str) -> redis::RedisResult<u64> {
    text.parse().map_err(|_| redis::RedisError::from((redis::ErrorKind::Parse, "not a number")))
}

impl EventLog for RedisLog {
    fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::SeqCst)
    }

    fn head(&self) -> Option<EventId> {
        let seq = self.inner.head.load(Ordering::SeqCst);
        (seq > 0).then(|| EventId::new(self.epoch(), seq))
    }

    fn append(
        &self,
        topic: Topic,
        name: Cow<'static, str>,
        data: String,
    ) -> BoxFuture<'_, Result<Arc<Record>, AppendError>> {
        let inner = &self.inner;
        async move {
            let result = async {
                let mut connection = inner.connection().await?;
                let (epoch, seq): (String, u64) = redis::Script::new(APPEND)
                    .key(&inner.keys.events)
                    .key(&inner.keys.seq)
                    .key(&inner.keys.epoch)
                    .arg(crate::clock::now_ms().max(inner.epoch.load(Ordering::SeqCst) + 1))
                    .arg(inner.capacity)
                    .arg(topic.as_str())
                    .arg(&*name)
                    .arg(&data)
                    .arg(inner.epoch.load(Ordering::SeqCst))
                    .arg(inner.head.load(Ordering::SeqCst))
                    .invoke_async(&mut connection)
                    .await?;
                Ok(EventId::new(number(&epoch)?, seq))
            }
            .await;
            let id = inner
                .noted(result)
                .await
                .map_err(|error| AppendError::Unavailable(Box::new(error)))?;
            inner.saw(id);
            Ok(Arc::new(Record::new(id, topic, name, data)))
        }
        .boxed()
    }

    fn read_after(&self, after: EventId) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        let inner = &self.inner;
        async move {
            let (epoch, seq) = inner.position().await.map_err(|_| ResumeError::Unavailable)?;
            if after.epoch() != epoch {
                return Err(ResumeError::UnknownEpoch);
            }
            if after.seq() > seq {
                return Err(ResumeError::FromTheFuture);
            }
            if after.seq() == seq {
                return Ok(Vec::new());
            }
            let result = async {
                let mut connection = inner.connection().await?;
                let entries: Value =
                    connection.xrange(&inner.keys.events, format!("({after}"), "+").await?;
                Ok(entries)
            }
            .await;
            let entries = inner.noted(result).await.map_err(|_| ResumeError::Unavailable)?;
            let records = records(entries).map_err(|_| ResumeError::Unavailable)?;
            // Trimmed past the id: the first kept is not the one right after it.
            match records.first() {
                Some(first) if first.id.epoch() == epoch && first.id.seq() == after.seq() + 1 => {
                    Ok(records)
                }
                _ => Err(ResumeError::Evicted),
            }
        }
        .boxed()
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.inner.sender().subscribe()
    }

    fn read_kept(&self) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        let inner = &self.inner;
        async move {
            let result = async {
                let mut connection = inner.connection().await?;
                let entries: Value = connection.xrange_all(&inner.keys.events).await?;
                Ok(entries)
            }
            .await;
            let entries = inner.noted(result).await.map_err(|_| ResumeError::Unavailable)?;
            records(entries).map_err(|_| ResumeError::Unavailable)
        }
        .boxed()
    }

    fn is_available(&self) -> bool {
        RedisLog::is_available(self)
    }
}

/// Records from an `XRANGE` or one stream of an `XREAD` answer: `[[id, [field, value, …]], …]`.
fn records(entries: Value) -> Result<Vec<Arc<Record>>, String> {
    let Value::Array(entries) = entries else { return Ok(Vec::new()) };
    entries.into_iter().map(record).collect()
}

fn record(entry: Value) -> Result<Arc<Record>, String> {
    let (id, fields): (String, Vec<String>) =
        redis::from_redis_value(entry).map_err(|error| error.to_string())?;
    let id: EventId = id.parse().map_err(|_| format!("not an event id: {id}"))?;
    let field = |name: &str| {
        fields.chunks(2).find(|pair| pair[0] == name).and_then(|pair| pair.get(1)).cloned()
    };
    let topic = field("topic").ok_or("no topic")?;
    let topic = Topic::new(topic).map_err(|error| error.to_string())?;
    let name = field("name").ok_or("no name")?;
    let data = field("data").ok_or("no data")?;
    Ok(Arc::new(Record::new(id, topic, name, data)))
}

/// The live reader: every entry after `cursor`, in order, to the subscribers, for as long as the
/// log lives; through Redis going away and coming back.
async fn read_live(log: Weak<Inner>, mut cursor: EventId) {
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(inner) = log.upgrade() else { return };
        // Where Redis is now against where this reader is: a new epoch is read from its start;
        // entries this reader passed on but Redis lost (a restart from an older save) would have
        // their numbers given again, so a new epoch starts (clients get a `resync`).
        match inner.position().await {
            Ok((epoch, _)) if epoch != cursor.epoch() => cursor = EventId::new(epoch, 0),
            Ok((epoch, seq)) if seq < cursor.seq() => match inner.restart_epoch(epoch).await {
                Ok(new) => {
                    tracing::warn!(lost_after = seq, "Redis lost events of the log: a new epoch");
                    cursor = EventId::new(new, 0);
                }
                Err(_) => {
                    drop(inner);
                    tokio::time::sleep(pause).await;
                    continue;
                }
            },
            Ok(_) => {}
            Err(_) => {
                drop(inner);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
                continue;
            }
        }
        let client = inner.client.clone();
        let key = inner.keys.events.clone();
        drop(inner);
        // Its own connection, whose answers may take the whole block time (the client's default
        // is to give up after 500 ms).
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(
            Duration::from_millis(BLOCK_MS as u64) + Duration::from_secs(2),
        ));
        let connected = tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        if let Ok(Ok(mut connection)) = connected {
            loop {
                let options =
                    redis::streams::StreamReadOptions::default().count(READ_COUNT).block(BLOCK_MS);
                let answer: redis::RedisResult<Value> =
                    connection.xread_options(&[&key], &[cursor.to_string()], &options).await;
                let Some(inner) = log.upgrade() else { return };
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(error) => {
                        tracing::warn!(%error, "the Redis event log's reader lost Redis; retrying");
                        inner.available.store(false, Ordering::SeqCst);
                        break;
                    }
                };
                inner.available.store(true, Ordering::SeqCst);
                pause = Duration::from_millis(100);
                for (id, record) in stream_entries(answer) {
                    let Ok(id) = id.parse::<EventId>() else { continue };
                    let expected = if id.epoch() == cursor.epoch() { cursor.seq() + 1 } else { 1 };
                    if id.seq() != expected {
                        // Trimmed past this reader (it was away longer than the log keeps):
                        // every feed ends, and its streams resume by id (or get `evicted`).
                        tracing::warn!(%cursor, next = %id, "the Redis event log's reader missed entries");
                        *inner.sender() = broadcast::channel(LIVE_BUFFER).0;
                    }
                    cursor = id;
                    match record {
                        Ok(record) => {
                            inner.saw(record.id);
                            let _ = inner.sender().send(record);
                        }
                        Err(error) => {
                            tracing::error!(%error, %id, "skipped an entry of the Redis event log that is not an event");
                        }
                    }
                }
            }
        } else if let Some(inner) = log.upgrade() {
            inner.available.store(false, Ordering::SeqCst);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// The entries of an `XREAD` answer (`[[key, [[id, fields], …]]]`, or nil), each with its
/// Redis id (the reader's next cursor, even for an entry that is not an event).
fn stream_entries(answer: Value) -> Vec<(String, Result<Arc<Record>, String>)> {
    let streams = match answer {
        Value::Array(streams) => streams,
        Value::Map(pairs) => {
            pairs.into_iter().map(|(key, entries)| Value::Array(vec![key, entries])).collect()
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for stream in streams {
        let Value::Array(mut pair) = stream else { continue };
        let Some(Value::Array(entries)) = pair.pop() else { continue };
        for entry in entries {
            let id = match &entry {
                Value::Array(parts) => parts.first().and_then(|id| match id {
                    Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
                    Value::SimpleString(text) => Some(text.clone()),
                    _ => None,
                }),
                _ => None,
            };
            let Some(id) = id else { continue };
            out.push((id, record(entry)));
        }
    }
    out
}
