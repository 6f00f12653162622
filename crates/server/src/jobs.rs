//! Long jobs: `POST /api/jobs` starts one; `GET /api/jobs/{id}/events` streams its `start`,
//! `progress` and `complete`, then ends. A reconnect to a finished job gets `204 No Content`, so
//! the browser stops for good.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tidings_axum::{EventId, LastEventId, LastEventIdRejection, Topic};
use tidings_demo_events::{DemoTopic, JobComplete, JobCreated, JobProgress, JobStarted};
use tidings_wire::Event;

use crate::demo_state::JobStatus;
use crate::events;
use crate::{ApiError, AppState};

/// How many steps a job takes.
const STEPS: u32 = 10;
/// At most this many jobs running at once.
const MAX_RUNNING: usize = 20;
/// At most this many jobs remembered; the oldest finished ones are forgotten first.
const MAX_KEPT: usize = 500;

/// `POST /api/jobs` → `201 {id}`; the job runs in the background.
pub(crate) async fn create(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<JobCreated>), ApiError> {
    let id = {
        let mut demo = state.demo().lock().await;
        let jobs = &mut demo.jobs;
        if jobs.by_id.values().filter(|job| job.completed.is_none()).count() >= MAX_RUNNING {
            return Err(ApiError::LimitReached {
                detail: format!("at most {MAX_RUNNING} jobs run at once"),
            });
        }
        while jobs.by_id.len() >= MAX_KEPT {
            let Some(oldest) = jobs
                .by_id
                .iter()
                .find(|(_, job)| job.completed.is_some())
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            jobs.by_id.remove(&oldest);
        }
        jobs.last += 1;
        let id = format!("job-{}", jobs.last);
        let before_start = state.hub().head_or_start();
        jobs.by_id.insert(id.clone(), JobStatus { before_start, completed: None });
        // Published under the lock, so `before_start` is right before it.
        let started = JobStarted { job: id.clone(), steps: STEPS };
        state.hub().publish(&topic(&id), &started).await?;
        id
    };
    tokio::spawn(run(state, id.clone()));
    Ok((StatusCode::CREATED, Json(JobCreated { id })))
}

fn topic(id: &str) -> Topic {
    DemoTopic::Job(id.to_owned()).topic()
}

async fn run(state: AppState, id: String) {
    let topic = topic(&id);
    let step = state.config().job_step();
    for done in 1..=STEPS {
        tokio::select! {
            () = state.hub().shut_down() => return,
            () = tokio::time::sleep(step) => {}
        }
        let percent = u8::try_from(done * 100 / STEPS).unwrap_or(100);
        if let Err(error) =
            state.hub().publish(&topic, &JobProgress { job: id.clone(), percent }).await
        {
            tracing::error!(%error, job = %id, "cannot publish progress");
        }
    }
    let mut demo = state.demo().lock().await;
    let result =
        JobComplete { job: id.clone(), result: format!("processed {} items", STEPS * 100) };
    match state.hub().publish(&topic, &result).await {
        Ok(record) => {
            if let Some(job) = demo.jobs.by_id.get_mut(&id) {
                job.completed = Some(record.id);
            }
        }
        Err(error) => tracing::error!(%error, job = %id, "cannot publish completion"),
    }
}

/// `GET /api/jobs/{id}/events`.
pub(crate) async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    last: Result<LastEventId, LastEventIdRejection>,
) -> Result<Response, ApiError> {
    let id = events::topic_id(id, "invalid_job", "job")?;
    let last = events::resume_point(last)?;
    let status = state.demo().lock().await.jobs.by_id.get(&id).copied();
    let Some(status) = status else {
        return Err(ApiError::NoSuchJob { id });
    };
    let log = state.hub().log();
    // A job's stream resumes where the client left off if the log has that point, and otherwise
    // starts at the job. Only when the log no longer keeps the job's start (a log of
    // `--log-capacity` events turned over while the job ran) does the client get a resync.
    let resumed = match last.as_deref().and_then(|text| text.parse::<EventId>().ok()) {
        Some(after) if after >= status.before_start && log.read_after(after).await.is_ok() => {
            Some(after)
        }
        _ => None,
    };
    if let Some(completed) = status.completed {
        let seen_it_all = resumed.is_some_and(|after| after >= completed);
        let replayable = log.read_after(status.before_start).await.is_ok();
        if seen_it_all || (resumed.is_none() && !replayable) {
            // Nothing more to say: 204 stops the browser for good.
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    let stream = state.hub().stream([topic(&id)]).end_after(JobComplete::NAME);
    let stream = match resumed {
        Some(after) => stream.start_after(after),
        None => stream.start_after(status.before_start),
    };
    Ok(stream.into_response())
}
