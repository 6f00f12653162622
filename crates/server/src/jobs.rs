//! Long jobs: `POST /api/jobs` starts one and answers its id and a token; `GET
//! /api/jobs/{id}/events` with `Authorization: Bearer <token>` streams its `start`, `progress`
//! and `complete`, then ends. A reconnect to a finished job gets `204 No Content`, so the browser
//! stops for good. Only the job's creator has the token (128 random bits); the log keeps its
//! SHA-256 in a record of the cluster's own topic, which no client can read, so any node can
//! check it.
//!
//! A job runs on the node that started it (its id names the node: `job-<node>-<128 random
//! bits in hex>`). When that
//! node is gone (not heard for `NODE_TIMEOUT`), the leading node ends the job with a `complete`
//! whose result says it failed, so its stream never hangs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tidings_axum::{EventId, LastEventId, LastEventIdRejection, Topic};
use tidings_demo_events::{DemoTopic, JobComplete, JobCreated, JobProgress, JobStarted, NewJob};

use crate::bearer::bearer;
use crate::events;
use crate::job_token::{self, JobToken};
use crate::json_body::ValidJson;
use crate::stream_quota::StreamSlot;
use crate::{ApiError, AppState};

/// How many steps a job takes.
const STEPS: u32 = 10;
/// At most this many jobs running at once.
const MAX_RUNNING: usize = 20;
/// What a job whose node went away ends with.
pub(crate) const FAILED: &str = "failed: the server running the job stopped";

/// `POST /api/jobs` with `{}` → `201 {id, token}`; the job runs in the background, and its
/// stream needs the token.
pub(crate) async fn create(
    State(state): State<AppState>,
    ValidJson(NewJob {}): ValidJson<NewJob>,
) -> Result<(StatusCode, Json<JobCreated>), ApiError> {
    let reserved = Reservation::take(&state)?;
    let id = format!("job-{}-{}", state.node(), crate::state::new_token());
    let started = JobStarted { job: id.clone(), steps: STEPS };
    let record = state.hub().publish(&topic(&id), &started).await?;
    state.projection().caught_up(record.id).await;
    // Counted by the view from now on.
    drop(reserved);
    // It runs (and ends, giving its place back) whatever happens to its token's record.
    tokio::spawn(run(state.clone(), id.clone()));
    let token = crate::state::new_token();
    let record = JobToken::new(id.clone(), &token);
    let record = state.hub().publish(&crate::membership::cluster_topic(), &record).await?;
    state.projection().caught_up(record.id).await;
    Ok((StatusCode::CREATED, Json(JobCreated { id, token })))
}

/// A running job's place under the cap, taken before the job is published and given back
/// once the view counts it (or the request is dropped): concurrent requests on this node cannot
/// all pass the check and then publish. Nodes of a cluster each check their own requests
/// against the shared view, so a cluster can briefly run a few more.
struct Reservation<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Reservation<'a> {
    fn take(state: &'a AppState) -> Result<Self, ApiError> {
        use std::sync::atomic::Ordering;
        let running = {
            let view = state.projection().view();
            view.jobs.values().filter(|job| job.completed.is_none()).count()
        };
        let starting = state.jobs_starting();
        starting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |starting| {
                (running + starting < MAX_RUNNING).then_some(starting + 1)
            })
            .map_err(|_| ApiError::LimitReached {
                detail: format!("at most {MAX_RUNNING} jobs run at once"),
            })?;
        Ok(Self(starting))
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The node a job runs on, from its id.
pub(crate) fn node_of(job: &str) -> Option<&str> {
    job.strip_prefix("job-")?.rsplit_once('-').map(|(node, _)| node)
}

fn topic(id: &str) -> Topic {
    DemoTopic::Job(id.to_owned()).topic()
}

async fn run(state: AppState, id: String) {
    let topic = topic(&id);
    let step = state.config().job_step();
    for done in 1..=STEPS {
        tokio::select! {
            () = state.hub().drain_started() => return,
            () = tokio::time::sleep(step) => {}
        }
        let percent = u8::try_from(done * 100 / STEPS).unwrap_or(100);
        if let Err(error) =
            state.hub().publish(&topic, &JobProgress { job: id.clone(), percent }).await
        {
            tracing::error!(%error, job = %id, "cannot publish progress");
        }
    }
    let result =
        JobComplete { job: id.clone(), result: format!("processed {} items", STEPS * 100) };
    if let Err(error) = state.hub().publish(&topic, &result).await {
        tracing::error!(%error, job = %id, "cannot publish completion");
    }
}

/// On the leading node: ends every unfinished job of a node that is gone.
pub(crate) async fn fail_orphans(state: &AppState) {
    let orphans: Vec<String> = {
        let view = state.projection().view();
        if !view.members.leads() {
            return;
        }
        view.jobs
            .iter()
            .filter(|(_, job)| job.completed.is_none())
            .filter(|(id, _)| node_of(id).is_some_and(|node| !view.members.is_alive(node)))
            .map(|(id, _)| id.clone())
            .collect()
    };
    for job in orphans {
        let failed = JobComplete { job: job.clone(), result: FAILED.to_owned() };
        match state.hub().publish(&topic(&job), &failed).await {
            Ok(record) => state.projection().caught_up(record.id).await,
            Err(error) => tracing::error!(%error, %job, "cannot fail the job"),
        }
    }
}

/// `GET /api/jobs/{id}/events` with `Authorization: Bearer <token>`.
pub(crate) async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    last: Result<LastEventId, LastEventIdRejection>,
    slot: StreamSlot,
) -> Result<Response, ApiError> {
    let id = events::topic_id(id, "invalid_job", "job")?;
    let last = events::resume_point(last)?;
    let unauthorized = || ApiError::Unauthorized {
        detail: "a job's stream needs `Authorization: Bearer <token>`, with the token \
                 `POST /api/jobs` answered"
            .into(),
    };
    let sent = bearer(&headers).ok_or_else(unauthorized)?;
    // Started on another node a moment ago, this node may not have applied it (or its token)
    // yet.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    let status = loop {
        let status = state.projection().view().jobs.get(&id).copied();
        let waited = tokio::time::Instant::now() >= deadline;
        match status {
            Some(status) if status.token_digest.is_some() || waited => break status,
            None if waited => return Err(ApiError::NoSuchJob { id }),
            _ => state.projection().next_change(std::time::Duration::from_millis(100)).await,
        }
    };
    if status.token_digest != Some(job_token::digest(sent)) {
        return Err(unauthorized());
    }
    let log = state.hub().log();
    // A job's stream resumes where the client left off if the log has that point, and otherwise
    // starts at the job. Only when the log no longer keeps the job's start (a log of
    // `--log-capacity` events turned over while the job ran) does the client get a resync.
    // The log's store away is no answer: 503, the browser retries (a 204 would stop it for good).
    let away = || ApiError::Unavailable { detail: "the event log does not answer".into() };
    let readable = async |after: EventId| match log.read_after(after).await {
        Ok(_) => Ok(true),
        Err(tidings_axum::ResumeError::Unavailable) => Err(away()),
        Err(_) => Ok(false),
    };
    let last_id = last.as_deref().and_then(|text| text.parse::<EventId>().ok());
    if last_id == Some(tidings_wire::End::ID) {
        // The client was sent the stream's `end` (a browser comes back with its id): 204 stops
        // it for good.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let resumed = match last_id {
        Some(after) if after >= status.before_start && readable(after).await? => Some(after),
        _ => None,
    };
    if let Some(completed) = status.completed {
        let seen_it_all = resumed.is_some_and(|after| after >= completed);
        let replayable = seen_it_all || readable(status.before_start).await?;
        if seen_it_all || (resumed.is_none() && !replayable) {
            // Nothing more to say: 204 stops the browser for good.
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    let stream = state.hub().stream([topic(&id)]).end_after::<JobComplete>().guard(slot);
    let stream = match resumed {
        Some(after) => stream.start_after(after),
        None => stream.start_after(status.before_start),
    };
    Ok(stream.into_response())
}
