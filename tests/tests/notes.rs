//! The notes example (`examples/notes`) in real browsers: a user's own event type, server and
//! page, on the engine and tidings-leptos. A note posted from the page appears; a stream the
//! server drops resumes without a gap or a duplicate (its token opens one stream only, so the
//! page's fetch transport must have asked for a fresh one), and so does one that the server
//! closes at the end of each one-second session.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};
use tidings_axum::Hub;
use tidings_e2e::{Browser, BrowserKind, eventually};

/// The example's server in this process, serving the page Trunk built (`TIDINGS_NOTES_DIST`).
async fn start() -> (String, Hub, tokio::task::JoinHandle<std::io::Result<()>>) {
    let dist = PathBuf::from(std::env::var("TIDINGS_NOTES_DIST").expect(
        "TIDINGS_NOTES_DIST is not set: the end-to-end tests run through `cargo xtask test`",
    ));
    assert!(dist.join("index.html").is_file(), "no page in {}", dist.display());
    // A short retry hint, so a dropped stream is back quickly.
    let hub = Hub::builder().retry(Duration::from_millis(300)).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    // Sessions of a second: the server closes the stream under the page again and again.
    let app = tidings_example_notes::app_with_session(hub.clone(), &dist, Duration::from_secs(1));
    let task =
        tokio::spawn(std::future::IntoFuture::into_future(tidings_axum::serve(listener, app)));
    (url, hub, task)
}

async fn notes(client: &Client) -> Vec<String> {
    let Ok(items) = client.find_all(Locator::Css("#notes li")).await else { return Vec::new() };
    let mut texts = Vec::new();
    for item in items {
        texts.push(item.text().await.unwrap_or_default());
    }
    texts
}

async fn state(client: &Client) -> Option<String> {
    client.find(Locator::Css("#state")).await.ok()?.text().await.ok()
}

async fn notes_appear_and_a_dropped_stream_resumes_without_a_gap(kind: BrowserKind) {
    let (url, hub, server) = start().await;
    Browser::open(kind)
        .await
        .run(|client| async move {
            client.goto(&url).await.expect("the page loads");
            eventually("the stream to open", || async {
                (state(&client).await? == "open").then_some(())
            })
            .await;

            // A note posted from the page's form appears on the page.
            let field = client.find(Locator::Css("#text")).await.unwrap();
            field.send_keys("posted from the page").await.unwrap();
            client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
            eventually("the note", || async {
                (notes(&client).await == ["posted from the page"]).then_some(())
            })
            .await;

            // The server drops the stream; a note is published while the page is away.
            hub.close_all_streams();
            let note = tidings_example_notes_contract::Note { id: 99, text: "while away".into() };
            hub.publish(&tidings_axum::Topic::from_static("notes"), &note).await.unwrap();
            eventually("the note from while away", || async {
                (notes(&client).await.len() == 2).then_some(())
            })
            .await;
            eventually("the stream open again", || async {
                (state(&client).await? == "open").then_some(())
            })
            .await;
            let note = tidings_example_notes_contract::Note { id: 100, text: "after".into() };
            hub.publish(&tidings_axum::Topic::from_static("notes"), &note).await.unwrap();
            eventually("the last note", || async {
                (notes(&client).await.len() == 3).then_some(())
            })
            .await;
            // Notes spread over several sessions (each a fresh token): each arrives once.
            for n in 0..4 {
                tokio::time::sleep(Duration::from_millis(600)).await;
                let note = tidings_example_notes_contract::Note {
                    id: 101 + n,
                    text: format!("session {n}"),
                };
                hub.publish(&tidings_axum::Topic::from_static("notes"), &note).await.unwrap();
            }
            eventually("the notes of the later sessions", || async {
                (notes(&client).await.len() >= 7).then_some(())
            })
            .await;
            assert_eq!(
                notes(&client).await,
                [
                    "posted from the page",
                    "while away",
                    "after",
                    "session 0",
                    "session 1",
                    "session 2",
                    "session 3"
                ],
                "each once, in order"
            );
        })
        .await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_notes_appear_and_a_dropped_stream_resumes_without_a_gap() {
    notes_appear_and_a_dropped_stream_resumes_without_a_gap(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_notes_appear_and_a_dropped_stream_resumes_without_a_gap() {
    notes_appear_and_a_dropped_stream_resumes_without_a_gap(BrowserKind::Firefox).await;
}
