//! The demo on two tidings-server processes sharing Redis, behind nginx (what `cargo xtask demo
//! --nodes 2` runs), in real browsers: two pages, a comment crosses, a node is killed with
//! SIGKILL, and both pages carry on with nothing missed or repeated.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, eventually};
use tidings_testkit::RedisServer;
use tidings_testkit::nginx::Nginx;

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests with `cargo xtask test`")
    })
}

/// A process killed (SIGKILL) when dropped.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A tidings-server node on `redis`, once it prints its address.
fn node(redis: &RedisServer) -> (Process, String) {
    let mut child = Command::new(required_env("TIDINGS_SERVER_BIN"))
        .args(["--addr", "127.0.0.1:0", "--retry-ms", "500", "--tick-interval-ms", "200"])
        .arg("--dist")
        .arg(required_env("TIDINGS_E2E_DIST"))
        .args(["--redis", &redis.url(), "--trusted-proxy", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tidings-server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
    let address = loop {
        let line = lines.next().expect("it prints its address").expect("a line");
        if let Some(url) = line.strip_prefix("tidings-server listening on http://") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Process(child), address)
}

/// nginx in front of `nodes` (`cargo xtask test` installs it).
fn nginx(nodes: &[String]) -> Nginx {
    let program = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    Nginx::start(program.as_ref(), nodes, false).expect("nginx starts")
}

/// How many streams a node has open (its `/metrics`, read over a plain socket).
fn open_streams(node: &str) -> u64 {
    use std::io::{Read, Write};
    let mut socket = TcpStream::connect(node).expect("the node answers");
    socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
        .lines()
        .find_map(|line| {
            line.strip_prefix("tidings_clients_connected ")?.trim().parse::<f64>().ok()
        })
        .map_or(0, |count| count as u64)
}

async fn text(client: &Client, selector: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.text().await.ok()
}

async fn feed(client: &Client) -> Vec<String> {
    let mut texts = Vec::new();
    for item in client.find_all(Locator::Css("#feed .comment .text")).await.unwrap_or_default() {
        texts.push(item.text().await.unwrap_or_default());
    }
    texts
}

async fn post_comment(client: &Client, text: &str) {
    let field = client.find(Locator::Css("#comment-text")).await.expect("the comment field");
    field.send_keys(text).await.expect("typing");
    let button = client.find(Locator::Css(".comment-form button[type=submit]")).await.unwrap();
    button.click().await.expect("send");
}

/// The ticker's sequence on the server (through nginx, by the page).
async fn server_tick(client: &Client) -> Option<u64> {
    let script = "const [done] = arguments;
        fetch('/api/state').then((response) => response.json())
            .then((state) => done(state.ticker ? state.ticker.seq : null), () => done(null));";
    client.execute_async(script, vec![]).await.ok()?.as_u64()
}

async fn caught_up_without_gap(client: &Client) {
    let now = eventually("the server's ticker", || server_tick(client)).await;
    eventually("the page to pass the server's tick", || async {
        (text(client, "#tick-seq").await?.parse::<u64>().ok()? > now).then_some(())
    })
    .await;
    let check = text(client, "#resume-check").await.unwrap_or_default();
    assert!(check.ends_with(" events, 0 missed, 0 duplicated"), "{check}");
}

async fn two_pages_through_nginx_carry_on_when_a_node_is_killed(kind: BrowserKind) {
    let redis = RedisServer::start(false);
    let (first_node, first) = node(&redis);
    let (second_node, second) = node(&redis);
    let nginx = nginx(&[first.clone(), second.clone()]);
    let url = nginx.url().to_owned();

    let (one, two) = tokio::join!(Browser::open(kind), Browser::open(kind));
    let (a, b) = (one.client().clone(), two.client().clone());
    for client in [&a, &b] {
        client.goto(&url).await.expect("the page loads through nginx");
        eventually("the page's stream to open", || async {
            (text(client, "#inspector-state").await?.starts_with("open")).then_some(())
        })
        .await;
    }
    let crossing = format!("crossing {}", std::process::id());
    post_comment(&a, &crossing).await;
    eventually("the comment in the other page", || async {
        feed(&b).await.contains(&crossing).then_some(())
    })
    .await;

    // Kill the node with the most of the pages' streams (both, or one of them).
    let (mut doomed, _spared) = if open_streams(&first) >= open_streams(&second) {
        (first_node, second_node)
    } else {
        (second_node, first_node)
    };
    doomed.kill();
    let after = format!("after the kill {}", std::process::id());
    post_comment(&b, &after).await;
    for client in [&a, &b] {
        eventually("the comment posted after the kill", || async {
            feed(client).await.contains(&after).then_some(())
        })
        .await;
        caught_up_without_gap(client).await;
        let comments = feed(client).await;
        for comment in [&crossing, &after] {
            assert_eq!(comments.iter().filter(|text| *text == comment).count(), 1, "{comments:?}");
        }
    }
    tokio::join!(one.close(), two.close());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_two_pages_through_nginx_carry_on_when_a_node_is_killed() {
    two_pages_through_nginx_carry_on_when_a_node_is_killed(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_two_pages_through_nginx_carry_on_when_a_node_is_killed() {
    two_pages_through_nginx_carry_on_when_a_node_is_killed(BrowserKind::Firefox).await;
}
