//! Every panel of the demo, in headless Chromium and Firefox, against an in-process
//! tidings-server: two sessions see each other's comments and board moves, a job runs to its
//! end, a dropped stream resumes without loss, a restarted server makes the page reload its
//! state, and what a user types stays text.

use std::time::Instant;

use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, Server, eventually};

async fn text(client: &Client, selector: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.text().await.ok()
}

async fn attribute(client: &Client, selector: &str, name: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.attr(name).await.ok()?
}

async fn click(client: &Client, selector: &str) {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|_| panic!("{selector} is on the page"))
        .click()
        .await
        .unwrap();
}

async fn type_into(client: &Client, selector: &str, keys: &str) {
    let field = client.find(Locator::Css(selector)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(keys).await.unwrap();
}

/// Loads the page and waits for the stream to open.
async fn open_page(client: &Client, url: &str) {
    client.goto(url).await.expect("the page loads");
    eventually("the stream to open", || async {
        (attribute(client, "#connection-state", "data-state").await? == "open").then_some(())
    })
    .await;
}

/// The texts of the feed's comments.
async fn feed(client: &Client) -> Vec<String> {
    let Ok(items) = client.find_all(Locator::Css("#feed .comment .text")).await else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    for item in items {
        texts.push(item.text().await.unwrap_or_default());
    }
    texts
}

/// The titles of the tasks in `list` (`todo`, `doing`, `done`).
async fn column(client: &Client, list: &str) -> Vec<String> {
    let selector = format!(".column[data-list='{list}'] .task .title");
    let Ok(items) = client.find_all(Locator::Css(&selector)).await else { return Vec::new() };
    let mut titles = Vec::new();
    for item in items {
        titles.push(item.text().await.unwrap_or_default());
    }
    titles
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix} {}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            % 1_000_000_007
    )
}

async fn two_sessions_see_each_others_comments_and_board_moves(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    let (first, second) = tokio::join!(Browser::open(kind), Browser::open(kind));
    let (a, b) = (first.client().clone(), second.client().clone());
    tokio::join!(open_page(&a, &url), open_page(&b, &url));

    // A comment posted in one tab appears in the other.
    let comment = unique("hello from the first tab");
    type_into(&a, "#comment-text", &comment).await;
    click(&a, ".comment-form button[type=submit]").await;
    eventually("the comment in the second tab", || async {
        feed(&b).await.contains(&comment).then_some(())
    })
    .await;
    assert!(feed(&a).await.contains(&comment));

    // What a user typed is text, never markup or script.
    let payload =
        r#"<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>"#;
    type_into(&a, "#comment-text", payload).await;
    click(&a, ".comment-form button[type=submit]").await;
    eventually("the payload as text", || async {
        feed(&b).await.iter().any(|text| text == payload).then_some(())
    })
    .await;
    for client in [&a, &b] {
        assert!(
            client.find_all(Locator::Css("#feed img, #feed script")).await.unwrap().is_empty(),
            "no element made"
        );
        assert_eq!(client.title().await.unwrap(), "Tidings demo", "no script ran");
    }

    // The server's validation error shows next to the form, and nothing is posted.
    let before = feed(&b).await.len();
    type_into(&a, "#comment-text", "   ").await;
    click(&a, ".comment-form button[type=submit]").await;
    let error = eventually("the validation error", || async {
        text(&a, "#comment-error").await.filter(|text| !text.is_empty())
    })
    .await;
    assert!(error.contains("text"), "{error}");
    assert_eq!(feed(&b).await.len(), before);

    // A task created and moved in one tab follows in the other.
    let task = unique("task");
    type_into(&a, "#task-title", &task).await;
    click(&a, ".task-form button[type=submit]").await;
    eventually("the task in the second tab", || async {
        column(&b, "todo").await.contains(&task).then_some(())
    })
    .await;
    let card = a
        .find(Locator::XPath(&format!(
            "//li[contains(@class,'task')][.//span[@class='title' and text()='{task}']]"
        )))
        .await
        .unwrap();
    card.find(Locator::Css(".move-forward")).await.unwrap().click().await.unwrap();
    eventually("the move in the second tab", || async {
        column(&b, "doing").await.contains(&task).then_some(())
    })
    .await;
    assert!(!column(&b, "todo").await.contains(&task));
    let card = b
        .find(Locator::XPath(&format!(
            "//li[contains(@class,'task')][.//span[@class='title' and text()='{task}']]"
        )))
        .await
        .unwrap();
    card.find(Locator::Css(".delete")).await.unwrap().click().await.unwrap();
    eventually("the deletion in the first tab", || async {
        (!column(&a, "doing").await.contains(&task)).then_some(())
    })
    .await;

    tokio::join!(first.close(), second.close());
}

async fn a_job_runs_to_its_end_and_the_stream_stops_for_good(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            open_page(&client, &url).await;
            click(&client, "#job-start").await;
            eventually("the job to reach 100%", || async {
                (text(&client, "#job-percent").await? == "100%").then_some(())
            })
            .await;
            let result = eventually("the result", || async {
                text(&client, "#job-result").await.filter(|text| !text.is_empty())
            })
            .await;
            assert!(!result.is_empty());
            eventually("the stream to end for good", || async {
                (attribute(&client, "#job-status", "data-state").await? == "closed").then_some(())
            })
            .await;
            let status = text(&client, "#job-status").await.unwrap();
            assert!(status.contains("204"), "{status}");
        })
        .await;
}

async fn a_dropped_stream_resumes_with_nothing_missed_or_repeated(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            let navigated = Instant::now();
            client.goto(&url).await.expect("the page loads");
            eventually("a first tick on the page", || async { text(&client, "#tick-seq").await?.trim().parse::<u64>().ok() }).await;
            println!("time from navigation to the first rendered tick in {kind:?}: {:?} (a measurement, not a limit)", navigated.elapsed());
            eventually("a few events", || async {
                let check = text(&client, "#resume-check").await?;
                (check.split(' ').next()?.parse::<u64>().ok()? >= 5).then_some(())
            })
            .await;
            click(&client, "#server-drop").await;
            eventually("the badge to read reconnecting", || async {
                (attribute(&client, "#connection-state", "data-state").await? == "reconnecting").then_some(())
            })
            .await;
            eventually("one reconnect", || async { (text(&client, "#reconnects").await? == "1").then_some(()) }).await;
            assert_eq!(attribute(&client, "#connection-state", "data-state").await.as_deref(), Some("open"));
            let before: u64 = text(&client, "#tick-seq").await.unwrap().parse().unwrap();
            eventually("ticks after the reconnect", || async {
                (text(&client, "#tick-seq").await?.parse::<u64>().ok()? >= before + 3).then_some(())
            })
            .await;
            let check = text(&client, "#resume-check").await.unwrap();
            assert!(check.ends_with(" events, 0 missed, 0 duplicated"), "{check}");

            // Disconnect by hand; comments are posted and ticks go by while the page is away.
            click(&client, "#disconnect").await;
            eventually("closed", || async { (attribute(&client, "#connection-state", "data-state").await? == "closed").then_some(()) }).await;
            let seen: u64 = text(&client, "#tick-seq").await.unwrap().parse().unwrap();
            for comment in ["posted while away", "and another"] {
                assert_eq!(post_comment(&client, comment).await, 201);
            }
            eventually("ticks the page has not seen", || async { (server_tick(&client).await? >= seen + 3).then_some(()) }).await;
            assert_eq!(text(&client, "#tick-seq").await.unwrap().parse::<u64>().unwrap(), seen, "nothing arrives while closed");

            // Connect: the stream resumes after the last event seen, not from the page's snapshot.
            click(&client, "#connect").await;
            eventually("open again", || async { (attribute(&client, "#connection-state", "data-state").await? == "open").then_some(()) }).await;
            eventually("both comments", || async {
                let feed = feed(&client).await;
                feed.iter().any(|text| text == "and another").then_some(feed)
            })
            .await;
            let feed = feed(&client).await;
            for comment in ["posted while away", "and another"] {
                assert_eq!(feed.iter().filter(|text| *text == comment).count(), 1, "{comment} once: {feed:?}");
            }
            let server_now = server_tick(&client).await.unwrap();
            eventually("the page to catch up with the ticker", || async {
                (text(&client, "#tick-seq").await?.parse::<u64>().ok()? >= server_now).then_some(())
            })
            .await;
            let check = text(&client, "#resume-check").await.unwrap();
            assert!(check.ends_with(" events, 0 missed, 0 duplicated"), "{check}");
        })
        .await;
}

/// Posts a comment from the page (its own `fetch`, as the form does); the answer's status.
async fn post_comment(client: &Client, text: &str) -> u64 {
    let script = "const [text, done] = arguments;
        fetch('/api/comments', { method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ author: 'e2e', text }) })
            .then((response) => done(response.status), () => done(0));";
    let status = client.execute_async(script, vec![text.into()]).await.unwrap();
    status.as_u64().unwrap_or(0)
}

/// The ticker's sequence number on the server (`GET /api/state`, fetched by the page).
async fn server_tick(client: &Client) -> Option<u64> {
    let script = "const [done] = arguments;
        fetch('/api/state').then((response) => response.json())
            .then((state) => done(state.ticker ? state.ticker.seq : null), () => done(null));";
    client.execute_async(script, vec![]).await.ok()?.as_u64()
}

async fn a_restarted_server_makes_the_page_reload_its_state(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    let browser = Browser::open(kind).await;
    let client = browser.client().clone();
    open_page(&client, &url).await;
    eventually("a tick", || async { text(&client, "#tick-seq").await?.parse::<u64>().ok() }).await;
    assert_eq!(attribute(&client, "#snapshot-info", "data-loads").await.as_deref(), Some("1"));
    // A new server: a new epoch, so the page's last id cannot be served and it gets `resync`.
    let server = server.restart().await;
    eventually("the state reloaded after resync", || async {
        (attribute(&client, "#snapshot-info", "data-loads").await? == "2").then_some(())
    })
    .await;
    eventually("open again", || async {
        (attribute(&client, "#connection-state", "data-state").await? == "open").then_some(())
    })
    .await;
    eventually("ticks from the new server", || async {
        text(&client, "#tick-seq").await?.parse::<u64>().ok()
    })
    .await;
    browser.close().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_two_sessions_see_each_others_comments_and_board_moves() {
    two_sessions_see_each_others_comments_and_board_moves(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_two_sessions_see_each_others_comments_and_board_moves() {
    two_sessions_see_each_others_comments_and_board_moves(BrowserKind::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_a_job_runs_to_its_end_and_the_stream_stops_for_good() {
    a_job_runs_to_its_end_and_the_stream_stops_for_good(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_a_job_runs_to_its_end_and_the_stream_stops_for_good() {
    a_job_runs_to_its_end_and_the_stream_stops_for_good(BrowserKind::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_a_dropped_stream_resumes_with_nothing_missed_or_repeated() {
    a_dropped_stream_resumes_with_nothing_missed_or_repeated(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_a_dropped_stream_resumes_with_nothing_missed_or_repeated() {
    a_dropped_stream_resumes_with_nothing_missed_or_repeated(BrowserKind::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_a_restarted_server_makes_the_page_reload_its_state() {
    a_restarted_server_makes_the_page_reload_its_state(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_a_restarted_server_makes_the_page_reload_its_state() {
    a_restarted_server_makes_the_page_reload_its_state(BrowserKind::Firefox).await;
}
