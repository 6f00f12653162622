//! A long job: start it, watch its progress, see the result; its stream ends, and the server's
//! `204` tells the browser to stop. The stream needs the token the job's start answered, sent as
//! a header: the fetch transport's case.

use leptos::prelude::*;
use tidings::{CloseReason, ConnectionState, FetchOptions};
use tidings_demo_events::{JobComplete, JobCreated, JobProgress, JobStarted};
use tidings_leptos::{UseEventSourceOptions, use_event_source_with_options};

use crate::api;

#[component]
pub(crate) fn JobPanel() -> impl IntoView {
    let job = RwSignal::new(None::<JobCreated>);
    let error = RwSignal::new(None::<api::ApiError>);
    let start = move |_| {
        api::send("POST", "/api/jobs", Some("{}".to_owned()), move |answer| {
            match answer.and_then(|text| api::decode::<JobCreated>(&text)) {
                Ok(created) => {
                    error.set(None);
                    job.set(Some(created));
                }
                Err(problem) => error.set(Some(problem)),
            }
        });
    };
    view! {
        <section class="panel job" aria-labelledby="job-title">
            <h2 id="job-title">"Long job"</h2>
            <p class="hint">"Its own stream, read with the job's token as a header: "<code>"start"</code>", "<code>"progress"</code>", "<code>"complete"</code>", then the end."</p>
            <button id="job-start" on:click=start>"Start a job"</button>
            <p class="form-error" role="alert">{move || error.get().map(|error| error.to_string())}</p>
            {move || job.get().map(|JobCreated { id, token }| view! { <JobRun id token/> })}
        </section>
    }
}

/// One job's stream, for as long as it is shown.
#[component]
fn JobRun(id: String, token: String) -> impl IntoView {
    let with_token = FetchOptions::new().header("Authorization", format!("Bearer {token}"));
    let stream = use_event_source_with_options(
        format!("/api/jobs/{id}/events"),
        UseEventSourceOptions::default().fetch(with_token),
    );
    let started = stream.latest::<JobStarted>();
    let progress = stream.latest::<JobProgress>();
    let complete = stream.latest::<JobComplete>();
    let state = move || stream.state();
    // As text: one rendering of strings serves every number on the page.
    let percent = move || {
        let percent = match complete.get() {
            Some(_) => 100,
            None => progress.get().map_or(0, |progress| progress.percent),
        };
        percent.to_string()
    };
    let status = move || match (state(), complete.get()) {
        (ConnectionState::Closed(CloseReason::Ended), _) => {
            "The stream ended: the server answered 204 No Content, and the browser stopped."
                .to_owned()
        }
        (_, Some(_)) => "Complete; the stream is ending…".to_owned(),
        (ConnectionState::Open, None) => match started.get() {
            Some(started) => format!("Running ({} steps)", started.steps),
            None => "Waiting for the start…".to_owned(),
        },
        (other, None) => other.to_string(),
    };
    view! {
        <div class="job-run" data-job=id.clone()>
            <p>"Job " <code>{id.clone()}</code></p>
            <progress id="job-progress" max="100" value=percent aria-label="Job progress">{percent}"%"</progress>
            <p class="job-percent" id="job-percent">{percent}"%"</p>
            <p class="job-result" id="job-result">{move || complete.get().map(|complete| complete.result)}</p>
            <p class="job-status" id="job-status" data-state=move || state().name() role="status" aria-live="polite">{status}</p>
        </div>
    }
}
