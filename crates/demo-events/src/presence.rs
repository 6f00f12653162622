use serde::{Deserialize, Serialize};
use tidings_wire::Event;

/// Who is connected to the demo's stream, sent when streams open or close (at most a few times a
/// second, whatever the number of clients).
///
/// Its size is bounded: at most [`Presence::LISTED`] names, each at most
/// [`Presence::NAME_CHARS`] characters (longer ones are cut, ending in `…`); the names past the
/// list are counted in `others`.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// let presence =
///     tidings_demo_events::Presence { online: vec!["Ada".into()], others: 0, connections: 2 };
/// assert_eq!(tidings_demo_events::Presence::NAME, "presence");
/// assert_eq!(tidings_demo_events::Presence::LISTED, 20);
/// # let _ = presence;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Display names of open streams (the `name` query parameter), sorted, each once: the first
    /// [`Presence::LISTED`] to arrive that are still here.
    pub online: Vec<String>,
    /// How many more display names are here than listed (counted per server node: a name open
    /// on two nodes counts once if both list it).
    #[serde(default)]
    pub others: u64,
    /// How many streams are open, named or not.
    pub connections: u64,
}

impl Presence {
    /// The most names listed.
    pub const LISTED: usize = 20;
    /// The most characters of a listed name.
    pub const NAME_CHARS: usize = 24;

    /// `name` as presence lists it: cut to [`Presence::NAME_CHARS`] characters, the last one
    /// `…` when cut.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_demo_events::Presence;
    /// assert_eq!(Presence::listed_name("Ada"), "Ada");
    /// let long = "x".repeat(40);
    /// let cut = Presence::listed_name(&long);
    /// assert_eq!(cut.chars().count(), Presence::NAME_CHARS);
    /// assert!(cut.ends_with('…'));
    /// ```
    pub fn listed_name(name: &str) -> String {
        if name.chars().count() <= Self::NAME_CHARS {
            return name.to_owned();
        }
        let mut cut: String = name.chars().take(Self::NAME_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

impl Event for Presence {
    const NAME: &'static str = "presence";
}
