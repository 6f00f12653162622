//! Loopback ports: a free one, and waiting until something listens on one.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on now (the system's pick; another process may take it
/// before the caller does, which a test then sees as a failure to listen).
///
/// # Examples
///
/// ```
/// let port = tidings_testkit::free_port().unwrap();
/// assert_ne!(port, 0);
/// ```
pub fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|error| format!("no free port: {error}"))?;
    Ok(listener.local_addr().map_err(|error| format!("no local address: {error}"))?.port())
}

/// Waits (at most `limit`) until something accepts connections at `address`.
///
/// # Errors
///
/// What listened where, when nothing did in time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let address = listener.local_addr().unwrap();
/// tidings_testkit::wait_for_port(address, Duration::from_secs(1)).unwrap();
/// drop(listener);
/// assert!(tidings_testkit::wait_for_port(address, Duration::from_millis(100)).is_err());
/// ```
pub fn wait_for_port(address: SocketAddr, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if started.elapsed() > limit {
            return Err(format!("nothing listens on {address} after {} ms", limit.as_millis()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
