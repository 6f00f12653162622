//! The board: three lists; create, move and delete go through REST, and every tab follows
//! through `task_created`, `task_moved` and `task_deleted`.

use leptos::prelude::*;
use tidings_demo_events::{
    NewTask, Task, TaskCreated, TaskDeleted, TaskList, TaskMoved, TaskPatch,
};
use tidings_leptos::UseEventSource;

use crate::api;

/// The board every tab shares.
pub(crate) const BOARD: &str = "main";

const LISTS: [(TaskList, &str); 3] =
    [(TaskList::Todo, "To do"), (TaskList::Doing, "Doing"), (TaskList::Done, "Done")];

#[component]
pub(crate) fn BoardPanel(stream: UseEventSource, tasks: Vec<Task>) -> impl IntoView {
    let tasks = RwSignal::new(tasks);
    stream.on::<TaskCreated>(move |received| {
        if let Ok(message) = received
            && message.data.board == BOARD
        {
            tasks.update(|tasks| upsert(tasks, message.data.task));
        }
    });
    stream.on::<TaskMoved>(move |received| {
        if let Ok(message) = received
            && message.data.board == BOARD
        {
            tasks.update(|tasks| upsert(tasks, message.data.task));
        }
    });
    stream.on::<TaskDeleted>(move |received| {
        if let Ok(message) = received
            && message.data.board == BOARD
        {
            tasks.update(|tasks| tasks.retain(|task| task.id != message.data.id));
        }
    });
    let title = RwSignal::new(String::new());
    let error = RwSignal::new(None::<api::ApiError>);
    let create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let task = NewTask { title: title.get_untracked(), list: TaskList::Todo };
        api::send(
            "POST",
            format!("/boards/{BOARD}/tasks"),
            Some(api::json(&task)),
            move |answer| match answer {
                Ok(_) => {
                    error.set(None);
                    title.set(String::new());
                }
                Err(problem) => error.set(Some(problem)),
            },
        );
    };
    let columns = LISTS
        .into_iter()
        .map(|(list, label)| {
            // Rendered in place (row i shows the list's i-th task), not keyed with `For`: the
            // same DOM for a fraction of the wasm.
            let in_list = move || {
                tasks.with(|tasks| {
                    tasks
                        .iter()
                        .filter(|task| task.list == list)
                        .map(|task| view! { <TaskCard task=task.clone() error/> })
                        .collect_view()
                })
            };
            view! {
                <section class="column" data-list=list_name(list) aria-label=label>
                    <h3>{label}</h3>
                    <ul>{in_list}</ul>
                </section>
            }
        })
        .collect_view();
    view! {
        <section class="panel board" aria-labelledby="board-title">
            <h2 id="board-title">"Board"</h2>
            <p class="hint">"REST to change it; "<code>"task_created"</code>", "<code>"task_moved"</code>", "<code>"task_deleted"</code>" to follow it."</p>
            <form class="task-form" on:submit=create>
                <label for="task-title">"New task"</label>
                <input id="task-title" name="title" maxlength="200" prop:value=title
                    on:input=move |event| title.set(event_target_value(&event))/>
                <button type="submit">"Add"</button>
            </form>
            <p class="form-error" id="board-error" role="alert">{move || error.get().map(|error| error.to_string())}</p>
            <div class="columns">{columns}</div>
        </section>
    }
}

/// One task with its move and delete buttons.
#[component]
fn TaskCard(task: Task, error: RwSignal<Option<api::ApiError>>) -> impl IntoView {
    let Task { id, title, list } = task;
    // One request for the task, its failure shown under the board.
    let request = move |method: &'static str, patch: Option<TaskPatch>| {
        let path = format!("/boards/{BOARD}/tasks/{id}");
        let body = patch.as_ref().map(api::json);
        api::send(method, path, body, move |answer| error.set(answer.err()));
    };
    let move_to =
        move |to: TaskList| request("PATCH", Some(TaskPatch { list: Some(to), title: None }));
    let (back, forward) = neighbours(list);
    let (back_label, forward_label, delete_label) =
        (format!("Move {title} back"), format!("Move {title} forward"), format!("Delete {title}"));
    view! {
        <li class="task" data-task=id.to_string()>
            <span class="title">{title}</span>
            <span class="actions">
                {back.map(|to| view! {
                    <button class="move-back" on:click=move |_| move_to(to) aria-label=back_label>"←"</button>
                })}
                {forward.map(|to| view! {
                    <button class="move-forward" on:click=move |_| move_to(to) aria-label=forward_label>"→"</button>
                })}
                <button class="delete" on:click=move |_| request("DELETE", None) aria-label=delete_label>"✕"</button>
            </span>
        </li>
    }
}

/// The lists before and after `list`.
fn neighbours(list: TaskList) -> (Option<TaskList>, Option<TaskList>) {
    match list {
        TaskList::Todo => (None, Some(TaskList::Doing)),
        TaskList::Doing => (Some(TaskList::Todo), Some(TaskList::Done)),
        TaskList::Done => (Some(TaskList::Doing), None),
    }
}

fn list_name(list: TaskList) -> &'static str {
    match list {
        TaskList::Todo => "todo",
        TaskList::Doing => "doing",
        TaskList::Done => "done",
    }
}

/// Puts `task` in, replacing the one with its id.
fn upsert(tasks: &mut Vec<Task>, task: Task) {
    match tasks.iter_mut().find(|known| known.id == task.id) {
        Some(known) => *known = task,
        None => tasks.push(task),
    }
}
