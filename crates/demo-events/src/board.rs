use serde::{Deserialize, Serialize};
use tidings_wire::Event;

use crate::{ValidationError, check_text};

/// The longest task title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;

/// The three lists of a task board.
///
/// # Examples
///
/// ```
/// let list: tidings_demo_events::TaskList = serde_json::from_str("\"doing\"")?;
/// assert_eq!(list, tidings_demo_events::TaskList::Doing);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskList {
    /// Not started.
    #[default]
    Todo,
    /// In progress.
    Doing,
    /// Finished.
    Done,
}

/// A task on a board.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::{Task, TaskList};
/// let task = Task { id: 1, title: "Write docs".into(), list: TaskList::Todo };
/// assert_eq!(serde_json::to_string(&task)?, r#"{"id":1,"title":"Write docs","list":"todo"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Unique on the server, from 1.
    pub id: u64,
    /// Plain text.
    pub title: String,
    /// Where it is.
    pub list: TaskList,
}

/// A task was added to `board`.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::TaskCreated::NAME, "task_created");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCreated {
    /// The board's id.
    pub board: String,
    /// The new task.
    pub task: Task,
}

impl Event for TaskCreated {
    const NAME: &'static str = "task_created";
}

/// A task moved to another list or was renamed; it carries the task as it now is.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::TaskMoved::NAME, "task_moved");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMoved {
    /// The board's id.
    pub board: String,
    /// The task after the change.
    pub task: Task,
}

impl Event for TaskMoved {
    const NAME: &'static str = "task_moved";
}

/// A task was deleted from `board`.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::TaskDeleted::NAME, "task_deleted");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDeleted {
    /// The board's id.
    pub board: String,
    /// The deleted task's id.
    pub id: u64,
}

impl Event for TaskDeleted {
    const NAME: &'static str = "task_deleted";
}

/// The body of `POST /boards/{board}/tasks`.
///
/// # Examples
///
/// ```
/// let new: tidings_demo_events::NewTask = serde_json::from_str(r#"{"title":" Ship "}"#)?;
/// let new = new.validated().unwrap();
/// assert_eq!((new.title.as_str(), new.list), ("Ship", tidings_demo_events::TaskList::Todo));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// 1 to [`TITLE_MAX_CHARS`] characters after trimming, no control characters.
    pub title: String,
    /// Where it starts; `todo` when left out.
    #[serde(default)]
    pub list: TaskList,
}

impl NewTask {
    /// The task with its title trimmed, or why it is not acceptable.
    ///
    /// # Errors
    /// A [`ValidationError`] for `title`.
    ///
    /// # Examples
    ///
    /// ```
    /// let bad = tidings_demo_events::NewTask { title: "".into(), list: Default::default() };
    /// assert_eq!(bad.validated().unwrap_err().field, "title");
    /// ```
    pub fn validated(self) -> Result<Self, ValidationError> {
        Ok(Self {
            title: check_text("title", &self.title, TITLE_MAX_CHARS, false)?,
            list: self.list,
        })
    }
}

/// The body of `PATCH /boards/{board}/tasks/{id}`: a new list, a new title, or both.
///
/// # Examples
///
/// ```
/// let patch: tidings_demo_events::TaskPatch = serde_json::from_str(r#"{"list":"done"}"#)?;
/// assert!(patch.validated().is_ok());
/// let empty: tidings_demo_events::TaskPatch = serde_json::from_str("{}")?;
/// assert!(empty.validated().is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// Move the task here.
    pub list: Option<TaskList>,
    /// Rename the task: 1 to [`TITLE_MAX_CHARS`] characters after trimming.
    pub title: Option<String>,
}

impl TaskPatch {
    /// The patch with its title trimmed, or why it is not acceptable (it must change something).
    ///
    /// # Errors
    /// A [`ValidationError`] for `title`, or for the body when it names neither field.
    ///
    /// # Examples
    ///
    /// ```
    /// let patch = tidings_demo_events::TaskPatch { list: None, title: Some(" New ".into()) };
    /// assert_eq!(patch.validated().unwrap().title.as_deref(), Some("New"));
    /// ```
    pub fn validated(self) -> Result<Self, ValidationError> {
        if self.list.is_none() && self.title.is_none() {
            return Err(ValidationError {
                field: "body",
                problem: "changes nothing: give `list`, `title` or both".into(),
            });
        }
        let title = self
            .title
            .map(|title| check_text("title", &title, TITLE_MAX_CHARS, false))
            .transpose()?;
        Ok(Self { list: self.list, title })
    }
}
