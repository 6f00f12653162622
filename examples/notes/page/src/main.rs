//! The notes example's page: the state of the stream, a form, and the notes as they arrive. The
//! stream needs a bearer token that opens one stream only: tidings's fetch transport asks the
//! server for a fresh one before every connection and reconnection.

use leptos::prelude::*;
use tidings::FetchOptions;
use tidings_example_notes_contract::{NewNote, Note, StreamToken};
use tidings_leptos::UseEventSourceOptions;
use wasm_bindgen::{JsCast, JsValue};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(Notes);
}

#[component]
fn Notes() -> impl IntoView {
    let fetch = FetchOptions::new().headers_with(|| async {
        match stream_token().await {
            Ok(token) => vec![("Authorization".to_owned(), format!("Bearer {token}"))],
            Err(error) => {
                // Without a token the server answers 401: the state says so.
                leptos::logging::error!("no token for the stream: {error:?}");
                Vec::new()
            }
        }
    });
    let options = UseEventSourceOptions::default().fetch(fetch);
    let stream = tidings_leptos::use_event_source_with_options("/notes/events", options);
    let notes = stream.last_n::<Note>(100);
    let text = RwSignal::new(String::new());
    let post = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let note = NewNote { text: text.get_untracked() };
        text.set(String::new());
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = post_json("/notes", &note).await {
                leptos::logging::error!("the note was not posted: {error:?}");
            }
        });
    };
    view! {
        <h1>"Notes"</h1>
        <p id="state">{move || stream.state().to_string()}</p>
        <form on:submit=post>
            <input id="text" aria-label="Note" bind:value=text/>
            <button type="submit">"Post"</button>
        </form>
        <ul id="notes">
            {move || notes.with(|notes| notes.iter().map(|note| view! { <li>{note.text.clone()}</li> }).collect_view())}
        </ul>
    }
}

/// A token for one stream (`POST /notes/token`).
async fn stream_token() -> Result<String, JsValue> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let window = web_sys::window().ok_or("no window")?;
    let response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init("/notes/token", &init))
            .await?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!("status {}", response.status()).into());
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text()?).await?;
    let text = text.as_string().unwrap_or_default();
    let token: StreamToken = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(token.token)
}

/// POSTs `body` as JSON to `url`.
async fn post_json(url: &str, body: &NewNote) -> Result<(), JsValue> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&serde_json::to_string(body).unwrap_or_default().into());
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "application/json")?;
    init.set_headers(&headers);
    let window = web_sys::window().ok_or("no window")?;
    let response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await?;
    let response: web_sys::Response = response.unchecked_into();
    if response.ok() { Ok(()) } else { Err(format!("status {}", response.status()).into()) }
}
