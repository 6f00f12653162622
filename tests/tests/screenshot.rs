//! The README's screenshots: a short scripted session in headless Chromium, then a picture of
//! the whole page, and one on a phone-sized screen. Not a test: it runs only through `cargo xtask screenshot`, which sets
//! `TIDINGS_SCREENSHOT` to the file to write (it is `#[ignore]`d for `cargo test`).

use fantoccini::{Client, Locator};
use tidings_e2e::{Browser, BrowserKind, Server, eventually};

async fn state(client: &Client) -> Option<String> {
    client.find(Locator::Css("#connection-state")).await.ok()?.attr("data-state").await.ok()?
}

async fn submit(client: &Client, field: &str, text: &str, button: &str) {
    let input = client.find(Locator::Css(field)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
    client.find(Locator::Css(button)).await.unwrap().click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "not a test: `cargo xtask screenshot` runs it"]
async fn screenshot_of_a_short_session() {
    let path = std::env::var("TIDINGS_SCREENSHOT")
        .expect("TIDINGS_SCREENSHOT names the file to write: run `cargo xtask screenshot`");
    let server = Server::start().await;
    let url = server.url().to_owned();
    Browser::open(BrowserKind::Chromium)
        .await
        .run(|client| async move {
            client.set_window_size(1280, 2200).await.unwrap();
            client.goto(&url).await.unwrap();
            eventually("the stream to open", || async {
                (state(&client).await? == "open").then_some(())
            })
            .await;
            for text in ["Hello from Tidings!", "Every tab sees this at once."] {
                submit(&client, "#comment-text", text, ".comment-form button[type=submit]").await;
            }
            for task in ["Write the docs", "Ship the demo", "Measure the bundle"] {
                submit(&client, "#task-title", task, ".task-form button[type=submit]").await;
            }
            eventually("three tasks", || async {
                let tasks = client.find_all(Locator::Css(".task")).await.ok()?;
                (tasks.len() >= 3).then_some(())
            })
            .await;
            let first =
                client.find(Locator::Css(".column[data-list='todo'] .move-forward")).await.unwrap();
            first.click().await.unwrap();
            client.find(Locator::Css("#job-start")).await.unwrap().click().await.unwrap();
            // Let ticks fill the chart and the job make progress.
            tokio::time::sleep(std::time::Duration::from_secs(6)).await;
            let png = client.screenshot().await.unwrap();
            std::fs::write(&path, png).unwrap();
            println!("wrote {path}");

            // The same session on a phone-sized screen, at the ticker and the job.
            if let Ok(phone) = std::env::var("TIDINGS_PHONE_SCREENSHOT") {
                client.set_window_size(390, 844).await.unwrap();
                client
                    .execute("document.querySelector('.ticker').scrollIntoView()", vec![])
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                std::fs::write(&phone, client.screenshot().await.unwrap()).unwrap();
                println!("wrote {phone}");
            }
        })
        .await;
    drop(server);
}
