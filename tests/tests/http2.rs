//! One page (the server's `/metrics`, plain text with no script of its own; Firefox shows JSON
//! in a viewer of its own), twenty event streams to one origin: all twenty receive over HTTPS (HTTP/2, one
//! connection), where over HTTP/1.1 the browser opens six and leaves the rest waiting (its limit
//! of six connections per site); the same over HTTPS on nginx in front of the server. Plain `EventSource`s, so that what is measured is the
//! browser's and the server's, not the library's.

use fantoccini::Client;
use serde_json::Value;
use tidings_e2e::{Browser, BrowserKind, Server, eventually};
use tidings_testkit::nginx::Nginx;

/// How many event streams the page opens.
const STREAMS: usize = 20;

/// Opens [`STREAMS`] event sources to distinct URLs of the ticker, each counting its messages.
async fn open_streams(client: &Client) {
    let script = format!(
        "window.counts = Array({STREAMS}).fill(0);
         window.sources = [];
         for (let n = 0; n < {STREAMS}; n++) {{
             const source = new EventSource('/api/events?topics=ticker&name=s' + n);
             source.onmessage = () => {{ window.counts[n] += 1; }};
             window.sources.push(source);
         }}"
    );
    client.execute(&script, vec![]).await.expect("the streams open");
}

/// Each stream's message count.
async fn counts(client: &Client) -> Vec<u64> {
    let value = client.execute("return window.counts", vec![]).await.expect("the counts");
    let Value::Array(counts) = value else { panic!("counts: {value}") };
    counts.iter().map(|count| count.as_u64().expect("a number")).collect()
}

async fn twenty_streams_receive_over_http2(kind: BrowserKind) {
    let server = Server::start_tls().await;
    twenty_streams_receive_at(kind, &format!("{}metrics", server.url())).await;
}

/// What `cargo xtask demo --nodes 2 --tls` sets up: nginx speaks HTTPS and HTTP/2 to the
/// browser, plain HTTP/1.1 to the server behind it.
async fn twenty_streams_receive_over_http2_through_nginx(kind: BrowserKind) {
    let server = Server::start().await;
    let node = server.url().trim_start_matches("http://").trim_end_matches('/').to_owned();
    let program = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    let nginx = Nginx::start(program.as_ref(), &[node], true).expect("nginx starts over TLS");
    twenty_streams_receive_at(kind, &format!("{}metrics", nginx.url())).await;
}

/// At `url` (HTTPS), the page is served over HTTP/2, and each of its twenty streams receives.
async fn twenty_streams_receive_at(kind: BrowserKind, url: &str) {
    let url = url.to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            client.goto(&url).await.expect("the page loads over HTTPS");
            let protocol = client
                .execute(
                    "return performance.getEntriesByType('navigation')[0].nextHopProtocol",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(protocol, "h2", "the browser speaks HTTP/2 to the server");
            open_streams(&client).await;
            eventually("every stream to receive", || async {
                let counts = counts(&client).await;
                counts.iter().all(|count| *count > 0).then_some(())
            })
            .await;
        })
        .await;
}

async fn over_http_1_1_only_six_streams_open(kind: BrowserKind) {
    let server = Server::start().await;
    let url = format!("{}metrics", server.url());
    Browser::open(kind)
        .await
        .run(|client| async move {
            client.goto(&url).await.expect("the page loads");
            open_streams(&client).await;
            // Six streams each receive several ticks (ticks every 200 ms): long enough for the
            // others to have opened if the browser let them.
            eventually("six streams to receive five ticks each", || async {
                let counts = counts(&client).await;
                (counts.iter().filter(|count| **count >= 5).count() >= 6).then_some(())
            })
            .await;
            let counts = counts(&client).await;
            let open = counts.iter().filter(|count| **count > 0).count();
            assert_eq!(open, 6, "the browser's six connections per site: {counts:?}");
        })
        .await;
}

#[tokio::test]
async fn chromium_twenty_streams_receive_over_http2() {
    twenty_streams_receive_over_http2(BrowserKind::Chromium).await;
}

#[tokio::test]
async fn firefox_twenty_streams_receive_over_http2() {
    twenty_streams_receive_over_http2(BrowserKind::Firefox).await;
}

#[tokio::test]
async fn chromium_twenty_streams_receive_over_http2_through_nginx() {
    twenty_streams_receive_over_http2_through_nginx(BrowserKind::Chromium).await;
}

#[tokio::test]
async fn firefox_twenty_streams_receive_over_http2_through_nginx() {
    twenty_streams_receive_over_http2_through_nginx(BrowserKind::Firefox).await;
}

#[tokio::test]
async fn chromium_over_http_1_1_only_six_streams_open() {
    over_http_1_1_only_six_streams_open(BrowserKind::Chromium).await;
}

#[tokio::test]
async fn firefox_over_http_1_1_only_six_streams_open() {
    over_http_1_1_only_six_streams_open(BrowserKind::Firefox).await;
}
