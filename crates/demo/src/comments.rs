//! Live comments: the feed, a form that posts with `fetch`, who is typing, who is here.

use leptos::prelude::*;
use tidings_demo_events::{Comment, NewComment, Presence, Typing, TypingRequest};
use tidings_leptos::UseEventSource;

use crate::api;
use crate::clock::use_clock;

/// The feed keeps this many comments, newest first.
const FEED_LENGTH: usize = 50;
/// How long "is typing" shows after the last `typing` event.
const TYPING_SHOWN_MS: f64 = 3_000.0;
/// At most one `typing` request per this long.
const TYPING_EVERY_MS: f64 = 1_500.0;

#[component]
pub(crate) fn CommentsPanel(
    stream: UseEventSource,
    comments: Vec<Comment>,
    presence: Presence,
    name: String,
) -> impl IntoView {
    // Newest first: the snapshot has them oldest first.
    let mut comments = comments;
    comments.reverse();
    comments.truncate(FEED_LENGTH);
    let feed = RwSignal::new(comments);
    // What screen readers announce of a new comment. The feed itself is rendered in place (row i
    // shows the i-th newest comment), so it cannot be the live region: its rows change text.
    let announcement = RwSignal::new(String::new());
    stream.on::<Comment>(move |received| {
        if let Ok(message) = received {
            let comment = message.data;
            // A replayed comment the snapshot already had is not shown twice.
            if feed.with_untracked(|feed| feed.iter().any(|known| known.id == comment.id)) {
                return;
            }
            announcement.set(format!("{} wrote: {}", comment.author, comment.text));
            feed.update(|feed| {
                feed.insert(0, comment);
                feed.truncate(FEED_LENGTH);
            });
        }
    });
    let here = RwSignal::new(presence);
    stream.on::<Presence>(move |received| {
        if let Ok(message) = received {
            here.set(message.data);
        }
    });
    // Who typed when, in the order they started (a handful of names: a list is enough).
    let typing = RwSignal::new(Vec::<(String, f64)>::new());
    let me = name.clone();
    stream.on::<Typing>(move |received| {
        if let Ok(message) = received
            && message.data.author != me
        {
            let now = js_sys::Date::now();
            typing.update(|typing| {
                match typing.iter_mut().find(|(author, _)| *author == message.data.author) {
                    Some((_, at)) => *at = now,
                    None => typing.push((message.data.author, now)),
                }
            });
        }
    });
    let now = use_clock();
    let typing_now = move || {
        let now = now.get();
        let names: Vec<String> = typing.with(|typing| {
            typing
                .iter()
                .filter(|(_, at)| now - *at < TYPING_SHOWN_MS)
                .map(|(n, _)| n.clone())
                .collect()
        });
        match names.len() {
            0 => String::new(),
            1 => format!("{} is typing…", names[0]),
            _ => format!("{} are typing…", names.join(", ")),
        }
    };

    let author = RwSignal::new(name);
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<api::ApiError>);
    let sending = RwSignal::new(false);
    let last_typing = StoredValue::new(0.0_f64);
    let announce_typing = move || {
        let now = js_sys::Date::now();
        if now - last_typing.get_value() < TYPING_EVERY_MS {
            return;
        }
        last_typing.set_value(now);
        let request = TypingRequest { author: author.get_untracked() };
        // Typing is best effort: a failure shows nowhere.
        api::send("POST", "/api/typing", api::json(&request), |_| {});
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let comment = NewComment { author: author.get_untracked(), text: text.get_untracked() };
        sending.set(true);
        api::send("POST", "/api/comments", api::json(&comment), move |answer| {
            match answer {
                Ok(_) => {
                    error.set(None);
                    text.set(String::new());
                }
                Err(problem) => error.set(Some(problem)),
            }
            sending.set(false);
        });
    };

    view! {
        <section class="panel comments" aria-labelledby="comments-title">
            <h2 id="comments-title">"Live comments"</h2>
            <p class="hint">"Named "<code>"comment"</code>", "<code>"typing"</code>" and "<code>"presence"</code>" events; posting is a plain "<code>"fetch"</code>"."</p>
            <p class="presence" id="presence">
                {move || here.with(|here| {
                    let names = if here.online.is_empty() { "nobody named".to_owned() } else { here.online.join(", ") };
                    format!("Here: {names} ({} connection{})", here.connections, if here.connections == 1 { "" } else { "s" })
                })}
            </p>
            <form class="comment-form" on:submit=submit>
                <label for="comment-author">"Name"</label>
                <input id="comment-author" name="author" autocomplete="nickname" maxlength="40"
                    prop:value=author on:input=move |event| author.set(event_target_value(&event))/>
                <label for="comment-text">"Comment"</label>
                <textarea id="comment-text" name="text" rows="2" maxlength="2000"
                    prop:value=text
                    on:input=move |event| { text.set(event_target_value(&event)); announce_typing(); }></textarea>
                <button type="submit" disabled=move || sending.get()>"Post"</button>
                <p class="form-error" id="comment-error" role="alert">
                    {move || error.get().map(|error| error.to_string())}
                </p>
            </form>
            <p class="typing" id="typing" aria-live="polite">{typing_now}</p>
            <p class="visually-hidden" id="comment-announcer" role="status">{move || announcement.get()}</p>
            <ol class="feed" id="feed">
                {move || feed.with(|feed| feed.iter().map(|comment| view! {
                    <li class="comment" data-id=comment.id>
                        <span class="author">{comment.author.clone()}</span>
                        <span class="text">{comment.text.clone()}</span>
                    </li>
                }).collect_view())}
            </ol>
        </section>
    }
}
