//! The whole chain in real browsers: tidings-server → SSE → tidings → tidings-leptos → the page.

use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, Server, eventually};

/// The text of the element `selector`, if it is on the page.
async fn text(client: &Client, selector: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.text().await.ok()
}

async fn the_page_shows_an_open_stream_and_rising_ticks(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            client.goto(&url).await.expect("the page loads");
            assert_eq!(client.title().await.unwrap(), "Tidings demo");

            eventually("the badge to read open", || async {
                let badge = client.find(Locator::Css("#connection-state")).await.ok()?;
                let state = badge.attr("data-state").await.ok()??;
                (state == "open").then_some(())
            })
            .await;

            let first: u64 = eventually("a first tick", || async {
                text(&client, "#tick-seq").await?.trim().parse().ok()
            })
            .await;
            let next: u64 = eventually("the next tick", || async {
                text(&client, "#tick-seq").await?.trim().parse().ok().filter(|seq| *seq != first)
            })
            .await;
            assert!(next > first, "ticks rise: {first}, then {next}");

            let value = text(&client, "#tick-value").await.unwrap();
            assert!(value.trim().parse::<f64>().is_ok(), "the value is a number: {value:?}");
            assert_eq!(text(&client, "#last-error").await.as_deref(), Some("none"));
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_an_open_stream_and_rising_ticks() {
    the_page_shows_an_open_stream_and_rising_ticks(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_shows_an_open_stream_and_rising_ticks() {
    the_page_shows_an_open_stream_and_rising_ticks(BrowserKind::Firefox).await;
}
