//! The demo in several windows of one browser: one stream for all of them (shared across tabs),
//! and no event missed or repeated when the window that holds it closes.

use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, Server, eventually};

async fn text(client: &Client, selector: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.text().await.ok()
}

async fn attribute(client: &Client, selector: &str, name: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.attr(name).await.ok()?
}

/// The server's open streams and ticker sequence (`GET /api/state`, fetched by the page).
async fn server_state(client: &Client) -> Option<(u64, u64)> {
    let script = "const [done] = arguments;
        fetch('/api/state').then((response) => response.json())
            .then((state) => done([state.presence.connections, state.ticker ? state.ticker.seq : 0]),
                () => done(null));";
    let answer = client.execute_async(script, vec![]).await.ok()?;
    let answer = answer.as_array()?;
    Some((answer.first()?.as_u64()?, answer.get(1)?.as_u64()?))
}

async fn switch(client: &Client, window: &WindowHandle) {
    client.switch_to_window(window.clone()).await.expect("switch to a window");
}

/// The window whose page leads, polling every window in turn.
async fn leader(client: &Client, windows: &[WindowHandle]) -> Option<WindowHandle> {
    for window in windows {
        switch(client, window).await;
        if attribute(client, "#sharing", "data-role").await.as_deref() == Some("leader") {
            return Some(window.clone());
        }
    }
    None
}

async fn three_windows_share_one_stream_and_carry_on_when_the_leader_closes(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            client.goto(&url).await.expect("the page loads");
            let mut windows = vec![client.window().await.expect("a window")];
            eventually("the first page leads", || async {
                (attribute(&client, "#sharing", "data-role").await? == "leader").then_some(())
            })
            .await;
            for _ in 0..2 {
                let opened = client.new_window(false).await.expect("a new window");
                switch(&client, &opened.handle).await;
                client.goto(&url).await.expect("the page loads");
                windows.push(opened.handle);
            }
            for window in &windows {
                switch(&client, window).await;
                eventually("three tabs counted", || async {
                    text(&client, "#sharing").await?.contains("3 tabs").then_some(())
                })
                .await;
                eventually("open, as the leader says", || async {
                    (attribute(&client, "#inspector-state", "data-state").await? == "open")
                        .then_some(())
                })
                .await;
            }
            let roles = {
                let mut roles = Vec::new();
                for window in &windows {
                    switch(&client, window).await;
                    roles.push(
                        attribute(&client, "#sharing", "data-role").await.unwrap_or_default(),
                    );
                }
                roles
            };
            assert_eq!(roles, ["leader", "follower", "follower"]);
            let (connections, _) = server_state(&client).await.expect("the state");
            assert_eq!(connections, 1, "one stream for three windows");

            // The leader's window closes while ticks flow.
            switch(&client, &windows[0]).await;
            client.close_window().await.expect("close the leader's window");
            let closed = Instant::now();
            let left = windows.split_off(1);
            let new_leader =
                eventually("another window leads", || async { leader(&client, &left).await }).await;
            let took = closed.elapsed();
            println!("hand-over in {kind:?}: {took:?} (polling two windows; a measurement)");
            assert!(took < Duration::from_secs(2) + Duration::from_millis(500), "took {took:?}");
            switch(&client, &new_leader).await;
            eventually("one stream again", || async {
                (server_state(&client).await?.0 == 1).then_some(())
            })
            .await;
            let (_, ticker) = server_state(&client).await.expect("the state");
            for window in &left {
                switch(&client, window).await;
                eventually("the page to catch up with the ticker", || async {
                    (text(&client, "#tick-seq").await?.parse::<u64>().ok()? >= ticker + 2)
                        .then_some(())
                })
                .await;
                let check = text(&client, "#resume-check").await.unwrap_or_default();
                if !check.ends_with(" events, 0 missed, 0 duplicated") {
                    let log = text(&client, "#event-log").await.unwrap_or_default();
                    let snapshot = text(&client, "#snapshot-info").await.unwrap_or_default();
                    panic!("{check}\n{snapshot}\nthe page's log, newest first:\n{log}");
                }
                eventually("two tabs counted", || async {
                    text(&client, "#sharing").await?.contains("2 tabs").then_some(())
                })
                .await;
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_three_windows_share_one_stream_and_carry_on_when_the_leader_closes() {
    three_windows_share_one_stream_and_carry_on_when_the_leader_closes(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_three_windows_share_one_stream_and_carry_on_when_the_leader_closes() {
    three_windows_share_one_stream_and_carry_on_when_the_leader_closes(BrowserKind::Firefox).await;
}
