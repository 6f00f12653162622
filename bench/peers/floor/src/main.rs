//! The floor of a delivery on this machine: the ticker's frame, made once per tick, written with
//! one non-blocking `write` to every socket in turn (the frames made since its last wake-up
//! together, as a server that batches writes), from two writer threads (one per core of the
//! bench machine), each with half the sockets. No task per stream, no queue per stream, no
//! resume, no heartbeat, one thread reading every request's head: a socket that cannot take a whole frame at once is dropped. Nothing a
//! real server can do is cheaper per delivery (short of batching system calls across sockets),
//! so its CPU per delivery is the floor the others are measured against, and its lag is the
//! load generator's own share of theirs. A yardstick for `cargo xtask bench --part peers`; the
//! same JSON as tidings-server's ticker (`{"seq","value","at_ms"}`, `id:` the seq).
//!
//! ```text
//! PORT=8080 RATE=100 tidings-peer-floor
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The answer's head: an event stream, never cached, the connection closed after it.
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\nconnection: close\r\n\r\n";

/// How many writer threads share the sockets.
const WRITERS: usize = 2;

#[derive(serde::Serialize)]
struct TickJson {
    seq: u64,
    value: f64,
    at_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Sockets answered and not yet taken by their writer.
type Incoming = Arc<Mutex<Vec<TcpStream>>>;

/// Reads a request's head (up to a blank line, at most 16 KiB) and answers it; the socket then
/// goes to a writer, non-blocking.
fn accept(mut socket: TcpStream, incoming: &Incoming) {
    let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::with_capacity(512);
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    if socket.write_all(HEAD).is_err() || socket.set_nonblocking(true).is_err() {
        return;
    }
    let _ = socket.set_nodelay(true);
    incoming.lock().unwrap_or_else(PoisonError::into_inner).push(socket);
}

/// One writer: at each wake-up, every frame made since the last (one buffer) written with one
/// `write` to each of its sockets; a socket that cannot take it whole is dropped.
fn writer(frames: &Receiver<Arc<[u8]>>, incoming: &Incoming) {
    let mut sockets: Vec<TcpStream> = Vec::new();
    let mut batch: Vec<u8> = Vec::new();
    while let Ok(frame) = frames.recv() {
        batch.clear();
        batch.extend_from_slice(&frame);
        while let Ok(frame) = frames.try_recv() {
            batch.extend_from_slice(&frame);
        }
        sockets.append(&mut incoming.lock().unwrap_or_else(PoisonError::into_inner));
        sockets.retain_mut(|socket| match socket.write(&batch) {
            Ok(written) => written == batch.len(),
            Err(error) => error.kind() == ErrorKind::Interrupted,
        });
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|port| port.parse().ok()).unwrap_or(8080);
    let rate: f64 = std::env::var("RATE").ok().and_then(|rate| rate.parse().ok()).unwrap_or(10.0);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("listening on {}", listener.local_addr()?);
    let incoming: Vec<Incoming> = (0..WRITERS).map(|_| Incoming::default()).collect();
    // Each writer waits for the ticker's frames on a channel of its own.
    let mut senders = Vec::new();
    for incoming in &incoming {
        let (sender, frames) = std::sync::mpsc::channel::<Arc<[u8]>>();
        let incoming = Arc::clone(incoming);
        std::thread::spawn(move || writer(&frames, &incoming));
        senders.push(sender);
    }
    std::thread::spawn(move || ticker(&senders, rate));
    for (n, socket) in listener.incoming().enumerate() {
        let Ok(socket) = socket else { continue };
        // The head is read here, off the writers' threads (the load generator sends it at once).
        accept(socket, &incoming[n % WRITERS]);
    }
    Ok(())
}

/// The ticks due at `rate` per second, each made into one frame for every writer.
fn ticker(writers: &[Sender<Arc<[u8]>>], rate: f64) {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_millis(1));
    let started = Instant::now();
    let (mut seq, mut value) = (0_u64, 100.0_f64);
    loop {
        std::thread::sleep(period);
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        while seq < due {
            seq += 1;
            value = ((value + fastrand::f64() * 2.0 - 1.0).max(1.0) * 100.0).round() / 100.0;
            let tick = TickJson { seq, value, at_ms: now_ms() };
            let json = serde_json::to_string(&tick).unwrap_or_default();
            let frame: Arc<[u8]> = format!("id: {seq}\ndata: {json}\n\n").into_bytes().into();
            for writer in writers {
                let _ = writer.send(Arc::clone(&frame));
            }
        }
    }
}
