//! Helpers for the end-to-end tests: a tidings-server serving the Trunk build, and headless
//! browsers driven over WebDriver with fantoccini.
//!
//! The tests run only through `cargo xtask test`, which builds the app and names the browsers
//! and drivers in environment variables (`TIDINGS_E2E_DIST`, `CHROMIUM`, `CHROMEDRIVER`,
//! `FIREFOX`, `GECKODRIVER`). Run directly without them, they fail and say so.
//!
//! ```no_run
//! # async fn run() {
//! use tidings_e2e::{Browser, BrowserKind, Server};
//!
//! let server = Server::start().await;
//! let browser = Browser::open(BrowserKind::Chromium).await;
//! browser.client().goto(server.url()).await.unwrap();
//! browser.close().await;
//! # }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any one wait in these tests may take.
///
/// ```
/// assert!(tidings_e2e::PATIENCE.as_secs() >= 10);
/// ```
pub const PATIENCE: Duration = Duration::from_secs(30);

/// An environment variable that `cargo xtask test` sets, or a panic that says to use it.
fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the end-to-end tests run through `cargo xtask test`, which builds the app and installs the browsers")
    })
}

/// tidings-server serving the Trunk build on a free loopback port, in this process; it stops
/// when dropped.
///
/// ```no_run
/// # async fn run() {
/// let server = tidings_e2e::Server::start().await;
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    url: String,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts a server for the app in `TIDINGS_E2E_DIST`, with ticks every 200 ms.
    ///
    /// ```no_run
    /// # async fn run() { let _server = tidings_e2e::Server::start().await; }
    /// ```
    pub async fn start() -> Self {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Stops the server gracefully (every stream gets `shutdown`) and starts a new one on the
    /// same address: a new process as far as clients can tell, with a new in-memory log.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let server = tidings_e2e::Server::start().await;
    /// let server = server.restart().await;
    /// # let _ = server;
    /// # }
    /// ```
    pub async fn restart(mut self) -> Self {
        let address = self.address;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(PATIENCE, task).await;
        }
        drop(self);
        Self::start_at(address).await
    }

    /// Starts a server as [`start`](Self::start) does, over HTTPS with a certificate made for
    /// this run (`--tls-self-signed`): HTTP/2 for browsers (which [`Browser`] lets through).
    ///
    /// ```no_run
    /// # async fn run() {
    /// let server = tidings_e2e::Server::start_tls().await;
    /// assert!(server.url().starts_with("https://127.0.0.1:"));
    /// # }
    /// ```
    pub async fn start_tls() -> Self {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), true).await
    }

    async fn start_at(address: SocketAddr) -> Self {
        Self::start_with(address, false).await
    }

    async fn start_with(address: SocketAddr, tls: bool) -> Self {
        let dist = PathBuf::from(required_env("TIDINGS_E2E_DIST"));
        assert!(
            dist.join("index.html").is_file(),
            "no index.html in {}: build the app first",
            dist.display()
        );
        let address_flag = address.to_string();
        let mut flags = vec![
            "tidings-server",
            "--addr",
            &address_flag,
            "--retry-ms",
            "500",
            "--tick-interval-ms",
            "200",
            "--dist",
            dist.to_str().expect("a UTF-8 path"),
        ];
        if tls {
            flags.push("--tls-self-signed");
        }
        let config = tidings_server::Config::parse_from(flags);
        let served = tidings_server::tls::from_config(&config)
            .expect("a certificate for the test")
            .map(|served| served.tls);
        let listener =
            tokio::net::TcpListener::bind(config.addr).await.expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let scheme = if tls { "https" } else { "http" };
        let url = format!("{scheme}://{address}/");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = tidings_server::AppState::new(config);
        let router = tidings_server::app(state.clone());
        let task = tokio::spawn(tidings_server::serve_with_tls(
            listener,
            state,
            router,
            served,
            async move {
                let _ = stopped.await;
            },
        ));
        Self { url, address, stop: Some(stop), task: Some(task) }
    }

    /// The app's URL.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let server = tidings_e2e::Server::start().await;
    /// assert!(server.url().ends_with('/'));
    /// # }
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Which browser to drive.
///
/// ```
/// let kinds = [tidings_e2e::BrowserKind::Chromium, tidings_e2e::BrowserKind::Firefox];
/// assert_ne!(kinds[0], kinds[1]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    /// Debian's Chromium through chromedriver.
    Chromium,
    /// Firefox ESR through geckodriver.
    Firefox,
}

/// A headless browser session; its WebDriver server stops when this is dropped.
///
/// ```no_run
/// # async fn run() {
/// use tidings_e2e::{Browser, BrowserKind};
/// Browser::open(BrowserKind::Firefox)
///     .await
///     .run(|client| async move {
///         client.goto("http://127.0.0.1:3000/").await.unwrap();
///     })
///     .await;
/// # }
/// ```
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    /// Starts the browser's WebDriver server on a free port and opens a headless session.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let browser = tidings_e2e::Browser::open(tidings_e2e::BrowserKind::Chromium).await;
    /// browser.close().await;
    /// # }
    /// ```
    pub async fn open(kind: BrowserKind) -> Self {
        // A free port is free only until someone takes it: another test's driver may start on
        // the same one (ours then exits, and the port answers with the other driver). So the
        // driver must still be running once its port answers, and the session must open; else
        // another port, up to three times.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_open(kind).await {
                Ok(browser) => return browser,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("cannot open a {kind:?} session: {}", failures.join("; "))
    }

    /// One attempt of [`open`](Self::open).
    async fn try_open(kind: BrowserKind) -> Result<Self, String> {
        let port = tidings_testkit::free_port()?;
        let log_dir = std::env::temp_dir().join("tidings-e2e");
        std::fs::create_dir_all(&log_dir).expect("a folder for driver logs");
        let log_path = log_dir.join(format!("{kind:?}-driver-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("driver log file");
        let (driver, capabilities) = match kind {
            BrowserKind::Chromium => {
                let mut command = Command::new(required_env("CHROMEDRIVER"));
                command.arg(format!("--port={port}"));
                // `acceptInsecureCerts`: the TLS tests' certificate is made for the run.
                let capabilities = json!({
                    "browserName": "chrome",
                    "acceptInsecureCerts": true,
                    "goog:chromeOptions": {
                        "binary": required_env("CHROMIUM"),
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--no-first-run", "--window-size=1280,900"
                        ]
                    }
                });
                (command, capabilities)
            }
            BrowserKind::Firefox => {
                let mut command = Command::new(required_env("GECKODRIVER"));
                command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
                let capabilities = json!({
                    "browserName": "firefox",
                    "acceptInsecureCerts": true,
                    "moz:firefoxOptions": {
                        "binary": required_env("FIREFOX"),
                        "args": ["-headless", "-width=1280", "-height=900"],
                        "prefs": {
                            "app.update.enabled": false,
                            "datareporting.policy.dataSubmissionEnabled": false,
                            "network.captive-portal-service.enabled": false,
                            "toolkit.telemetry.enabled": false
                        }
                    }
                });
                (command, capabilities)
            }
        };
        let mut driver = driver;
        let driver = driver
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the {kind:?} WebDriver server: {error}"));
        let mut browser = DriverGuard(Some(driver));
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        tidings_testkit::wait_for_port(address, PATIENCE)
            .map_err(|error| format!("the WebDriver server: {error}"))?;
        if let Some(child) = browser.0.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "the {kind:?} WebDriver server exited ({status}) though port {port} answers: \
                 another took it (driver log: {})",
                log_path.display()
            ));
        }
        let Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities as Map<String, Value>)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|error| {
                format!("no {kind:?} session: {error} (driver log: {})", log_path.display())
            })?;
        Ok(Self { client, driver: browser.0.take().expect("the driver is running") })
    }

    /// The WebDriver client.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let browser = tidings_e2e::Browser::open(tidings_e2e::BrowserKind::Chromium).await;
    /// let title = browser.client().title().await.unwrap();
    /// # let _ = title;
    /// # }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (closing the browser) and stops the driver.
    ///
    /// ```no_run
    /// # async fn run() {
    /// tidings_e2e::Browser::open(tidings_e2e::BrowserKind::Firefox).await.close().await;
    /// # }
    /// ```
    pub async fn close(self) {
        let Self { client, driver } = self;
        let _ = client.close().await;
        drop(DriverGuard(Some(driver)));
    }

    /// Runs `test` with this browser, then closes it whether the test passed or panicked.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let browser = tidings_e2e::Browser::open(tidings_e2e::BrowserKind::Chromium).await;
    /// browser.run(|client| async move { client.goto("about:blank").await.unwrap() }).await;
    /// # }
    /// ```
    pub async fn run<F, Fut>(self, test: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()>,
    {
        use futures::FutureExt;
        let outcome = std::panic::AssertUnwindSafe(test(self.client.clone())).catch_unwind().await;
        self.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Kills the driver process when dropped.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` every 100 ms until it gives a value, for at most [`PATIENCE`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut polls = 0;
/// let value = tidings_e2e::eventually("the third poll", || {
///     polls += 1;
///     let ready = (polls == 3).then_some(polls);
///     async move { ready }
/// })
/// .await;
/// assert_eq!(value, 3);
/// # }
/// ```
pub async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    tidings_testkit::poll_until(what, PATIENCE, Duration::from_millis(100), check).await
}
