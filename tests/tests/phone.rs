//! The demo on a phone-sized screen (390 × 844), in Chromium and Firefox: nothing is wider than
//! the screen, the page never scrolls sideways, and every panel works: a comment, a job, a task
//! moved, a disconnect and a connect.

use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, Server, eventually};

/// The elements that reach past the viewport's left or right edge (described), and whether the
/// document scrolls sideways.
async fn overflow(client: &Client) -> (Vec<String>, bool) {
    let script = r#"
        const width = document.documentElement.clientWidth;
        const wide = [];
        for (const element of document.querySelectorAll('body *')) {
            if (element.closest('.visually-hidden, .skip')) continue;
            const box = element.getBoundingClientRect();
            if (box.width === 0 && box.height === 0) continue;
            if (box.right > width + 0.5 || box.left < -0.5) {
                const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
                    + (element.className && typeof element.className === 'string' ? '.' + element.className.split(' ').join('.') : '');
                wide.push(name + ' ' + Math.round(box.left) + '..' + Math.round(box.right) + ' of ' + width);
            }
        }
        const sideways = document.documentElement.scrollWidth > document.documentElement.clientWidth;
        return [wide.slice(0, 20), sideways];
    "#;
    let value = client.execute(script, vec![]).await.unwrap();
    let wide =
        value[0].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    (wide, value[1].as_bool().unwrap())
}

async fn assert_fits(client: &Client, when: &str) {
    let (wide, sideways) = overflow(client).await;
    assert!(wide.is_empty(), "{when}: wider than the screen: {wide:#?}");
    assert!(!sideways, "{when}: the page scrolls sideways");
}

async fn attribute(client: &Client, selector: &str, name: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.attr(name).await.ok()?
}

async fn text(client: &Client, selector: &str) -> Option<String> {
    client.find(Locator::Css(selector)).await.ok()?.text().await.ok()
}

async fn click(client: &Client, selector: &str) {
    client.find(Locator::Css(selector)).await.unwrap().click().await.unwrap();
}

async fn submit(client: &Client, field: &str, text: &str, button: &str) {
    let input = client.find(Locator::Css(field)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
    click(client, button).await;
}

async fn every_panel_fits_and_works_on_a_phone(kind: BrowserKind) {
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(kind)
        .await
        .run(|client| async move {
            // A phone-sized viewport: Chromium's window goes down to 390 × 844; Firefox keeps a
            // window at least 500 wide, so there the page runs in a 390 × 844 frame.
            match kind {
                BrowserKind::Chromium => {
                    client.set_window_size(390, 844).await.unwrap();
                    client.goto(&url).await.unwrap();
                }
                BrowserKind::Firefox => {
                    client.goto("about:blank").await.unwrap();
                    let frame = format!(
                        "document.body.style.margin = '0'; \
                         const frame = document.createElement('iframe'); \
                         frame.onload = () => {{ window.frameLoaded = true; }}; \
                         frame.src = '{url}'; \
                         frame.style.cssText = 'width:390px;height:844px;border:0'; \
                         document.body.appendChild(frame);"
                    );
                    client.execute(&frame, vec![]).await.unwrap();
                    eventually("the frame to load", || async {
                        let loaded = client.execute("return window.frameLoaded === true", vec![]);
                        loaded.await.ok()?.as_bool().filter(|loaded| *loaded)
                    })
                    .await;
                    client.enter_frame(0).await.unwrap();
                }
            }
            let width: f64 = client
                .execute("return document.documentElement.clientWidth", vec![])
                .await
                .unwrap()
                .as_f64()
                .unwrap();
            assert!((300.0..=430.0).contains(&width), "a phone's width, not {width}");
            eventually("the stream to open", || async {
                (attribute(&client, "#connection-state", "data-state").await? == "open")
                    .then_some(())
            })
            .await;
            assert_fits(&client, "loaded").await;

            // A long comment without spaces, a job, three tasks, one moved.
            let long =
                "a-comment-without-any-space-that-is-far-longer-than-a-phone-screen-is-wide-"
                    .repeat(3);
            submit(&client, "#comment-text", &long, ".comment-form button[type=submit]").await;
            eventually("the comment", || async {
                let feed = client.find_all(Locator::Css("#feed .comment .text")).await.ok()?;
                (!feed.is_empty()).then_some(())
            })
            .await;
            click(&client, "#job-start").await;
            for task in ["Write the docs", "Ship the demo", "Measure the bundle"] {
                submit(&client, "#task-title", task, ".task-form button[type=submit]").await;
            }
            eventually("three tasks", || async {
                let tasks = client.find_all(Locator::Css(".task")).await.ok()?;
                (tasks.len() == 3).then_some(())
            })
            .await;
            click(&client, ".column[data-list='todo'] .move-forward").await;
            eventually("a task in doing", || async {
                let doing =
                    client.find_all(Locator::Css(".column[data-list='doing'] .task")).await.ok()?;
                (doing.len() == 1).then_some(())
            })
            .await;
            eventually("the job to finish", || async {
                (text(&client, "#job-percent").await? == "100%").then_some(())
            })
            .await;

            // Disconnect and connect.
            click(&client, "#disconnect").await;
            eventually("closed", || async {
                (attribute(&client, "#connection-state", "data-state").await? == "closed")
                    .then_some(())
            })
            .await;
            click(&client, "#connect").await;
            eventually("open again", || async {
                (attribute(&client, "#connection-state", "data-state").await? == "open")
                    .then_some(())
            })
            .await;
            assert_fits(&client, "after a session").await;

            // The log cuts long data to one line; paused, a row's button shows it whole, wrapped.
            click(&client, "#pause-log").await;
            let rows = client.find_all(Locator::Css("#event-log tbody tr")).await.unwrap();
            let mut comment_row = None;
            for row in rows {
                if row.find(Locator::Css("td")).await.unwrap().text().await.unwrap() == "comment" {
                    comment_row = Some(row);
                    break;
                }
            }
            let row = comment_row.expect("the comment in the log");
            row.find(Locator::Css(".show")).await.unwrap().click().await.unwrap();
            let shown = eventually("the comment shown whole", || async {
                text(&client, "#event-detail .shown-data").await.filter(|text| !text.is_empty())
            })
            .await;
            assert!(shown.contains(&long), "the whole data: {shown}");
            assert_fits(&client, "with an event shown whole").await;
            click(&client, "#event-detail .close").await;
            click(&client, "#pause-log").await;
            eventually("the detail closed", || async {
                client.find(Locator::Css("#event-detail .shown-data")).await.is_err().then_some(())
            })
            .await;
        })
        .await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_every_panel_fits_and_works_on_a_phone() {
    every_panel_fits_and_works_on_a_phone(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_every_panel_fits_and_works_on_a_phone() {
    every_panel_fits_and_works_on_a_phone(BrowserKind::Firefox).await;
}
