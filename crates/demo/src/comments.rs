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

/// What the panel shows of the stream, changed by its events and read by the view: one signal
/// for the panel (every distinct signal type costs the page wasm).
#[derive(Debug)]
struct Comments {
    /// Newest first, at most [`FEED_LENGTH`].
    feed: Vec<Comment>,
    /// What screen readers announce of the newest comment. The feed is rendered in place (row
    /// i shows the i-th newest comment), so it cannot be the live region: its rows change text.
    announcement: String,
    presence: Presence,
    /// Who else typed, and when (`Date.now()`), in the order they started: a handful of names.
    typing: Vec<(String, f64)>,
}

impl Comments {
    /// The snapshot's comments (oldest first) and presence.
    fn new(mut comments: Vec<Comment>, presence: Presence) -> Self {
        comments.reverse();
        comments.truncate(FEED_LENGTH);
        Self { feed: comments, announcement: String::new(), presence, typing: Vec::new() }
    }

    /// A comment from the stream; one the feed already has (a replay) is not shown twice.
    fn add(&mut self, comment: Comment) {
        if self.feed.iter().any(|known| known.id == comment.id) {
            return;
        }
        self.announcement = format!("{} wrote: {}", comment.author, comment.text);
        self.feed.insert(0, comment);
        self.feed.truncate(FEED_LENGTH);
    }

    fn typed(&mut self, author: String, now: f64) {
        match self.typing.iter_mut().find(|(known, _)| *known == author) {
            Some((_, at)) => *at = now,
            None => self.typing.push((author, now)),
        }
    }

    /// "A is typing…", "A, B are typing…" or nothing, at `now`.
    fn typing_text(&self, now: f64) -> String {
        let names: Vec<&str> = self
            .typing
            .iter()
            .filter(|(_, at)| now - *at < TYPING_SHOWN_MS)
            .map(|(name, _)| name.as_str())
            .collect();
        match names.len() {
            0 => String::new(),
            1 => format!("{} is typing…", names[0]),
            _ => format!("{} are typing…", names.join(", ")),
        }
    }

    fn presence_text(&self) -> String {
        let Presence { online, others, connections } = &self.presence;
        let names = match (online.is_empty(), *others) {
            (true, 0) => "nobody named".to_owned(),
            (_, 0) => online.join(", "),
            (_, 1) => format!("{} and 1 other", online.join(", ")),
            (_, others) => format!("{} and {others} others", online.join(", ")),
        };
        let plural = if *connections == 1 { "" } else { "s" };
        format!("Here: {names} ({connections} connection{plural})")
    }
}

#[component]
pub(crate) fn CommentsPanel(
    stream: UseEventSource,
    comments: Vec<Comment>,
    presence: Presence,
    name: String,
) -> impl IntoView {
    let model = RwSignal::new(Comments::new(comments, presence));
    stream.on::<Comment>(move |received| {
        if let Ok(message) = received {
            model.update(|model| model.add(message.data));
        }
    });
    stream.on::<Presence>(move |received| {
        if let Ok(message) = received {
            model.update(|model| model.presence = message.data);
        }
    });
    let me = name.clone();
    stream.on::<Typing>(move |received| {
        if let Ok(message) = received
            && message.data.author != me
        {
            let now = js_sys::Date::now();
            model.update(|model| model.typed(message.data.author, now));
        }
    });
    let now = use_clock();
    let typing_now = move || {
        let now = now.get();
        model.with(|model| model.typing_text(now))
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
        api::send("POST", "/api/typing", Some(api::json(&request)), |_| {});
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let comment = NewComment { author: author.get_untracked(), text: text.get_untracked() };
        sending.set(true);
        api::send("POST", "/api/comments", Some(api::json(&comment)), move |answer| {
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
                {move || model.with(Comments::presence_text)}
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
            <p class="visually-hidden" id="comment-announcer" role="status">{move || model.with(|model| model.announcement.clone())}</p>
            <ol class="feed" id="feed">
                {move || model.with(|model| model.feed.iter().map(|comment| view! {
                    <li class="comment" data-id=comment.id.to_string()>
                        <span class="author">{comment.author.clone()}</span>
                        <span class="text">{comment.text.clone()}</span>
                    </li>
                }).collect_view())}
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: u64, author: &str) -> Comment {
        Comment { id, author: author.into(), text: format!("text {id}"), at_ms: 0 }
    }

    #[test]
    fn the_feed_is_newest_first_bounded_and_shows_a_replay_once() {
        let snapshot = (1..=60).map(|id| comment(id, "Ann")).collect();
        let mut model = Comments::new(snapshot, Presence::default());
        assert_eq!(model.feed.len(), FEED_LENGTH);
        assert_eq!(model.feed[0].id, 60);
        model.add(comment(60, "Ann"));
        assert_eq!(model.feed[0].id, 60);
        assert_eq!(model.announcement, "", "a replay announces nothing");
        model.add(comment(61, "Bob"));
        assert_eq!((model.feed[0].id, model.feed.len()), (61, FEED_LENGTH));
        assert_eq!(model.announcement, "Bob wrote: text 61");
    }

    #[test]
    fn typing_shows_for_three_seconds_in_the_order_people_started() {
        let mut model = Comments::new(Vec::new(), Presence::default());
        model.typed("Bob".into(), 1_000.0);
        model.typed("Ann".into(), 2_000.0);
        assert_eq!(model.typing_text(2_500.0), "Bob, Ann are typing…");
        model.typed("Bob".into(), 4_500.0);
        assert_eq!(model.typing_text(5_500.0), "Bob is typing…");
        assert_eq!(model.typing_text(8_000.0), "");
    }

    #[test]
    fn presence_names_who_is_here() {
        let mut model = Comments::new(Vec::new(), Presence::default());
        assert_eq!(model.presence_text(), "Here: nobody named (0 connections)");
        model.presence =
            Presence { online: vec!["Ann".into(), "Bob".into()], others: 0, connections: 1 };
        assert_eq!(model.presence_text(), "Here: Ann, Bob (1 connection)");
        model.presence.others = 3;
        model.presence.connections = 9;
        assert_eq!(model.presence_text(), "Here: Ann, Bob and 3 others (9 connections)");
    }
}
