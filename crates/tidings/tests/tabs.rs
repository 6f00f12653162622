//! Sharing one connection across tabs, in real browsers (`cargo xtask test` runs this file with
//! `web.rs`, against the fixture server it names in `TIDINGS_TEST_SERVER`).
//!
//! Web Locks and `BroadcastChannel` work the same between two objects of one page as between two
//! tabs: a lock request waits for the holder whoever it is, and a channel hears every other
//! channel of its name. So several `EventSource`s with sharing on, in this one page, are several
//! tabs. (`tests/tests/tabs.rs` does the same with real windows, on the demo.)
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use std::time::Duration;

use tidings::{
    CloseReason, ConnectionState, DecodeError, EventSource, HiddenTabPolicy, Message, Retrier,
    Sharing, Subscription, TabRole,
};
use tidings_demo_events::Tick;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;

use common::{
    assert_no_gap_no_duplicate, fetch_text, key, open_ticks, server, ticks_become, until, url,
    within,
};

wasm_bindgen_test_configure!(run_in_browser);

/// A "tab": a shared source with a recorder of every event it dispatched, as (id, seq).
struct Tab {
    source: EventSource,
    seen: Rc<RefCell<Vec<(String, u64)>>>,
    errors: Rc<RefCell<Vec<DecodeError>>>,
    states: Rc<RefCell<Vec<ConnectionState>>>,
    sharing: Rc<RefCell<Vec<Sharing>>>,
    _subscriptions: Vec<Subscription>,
}

impl Tab {
    /// A tab on `path` that records typed ticks and the numbered `note` events.
    fn open(path: &str) -> Self {
        Self::open_with(shared(path))
    }

    /// A tab on `source` that records typed ticks and the numbered `note` events.
    fn open_with(source: EventSource) -> Self {
        let mut tab = Self::bare(source);
        let seen = Rc::clone(&tab.seen);
        let errors = Rc::clone(&tab.errors);
        tab._subscriptions.push(tab.source.on::<Tick>(move |received| match received {
            Ok(message) => {
                assert_eq!(message.last_event_id(), message.data.seq.to_string());
                seen.borrow_mut().push((message.last_event_id(), message.data.seq));
            }
            Err(error) => errors.borrow_mut().push(error),
        }));
        let seen = Rc::clone(&tab.seen);
        tab._subscriptions.push(tab.source.on_raw("note", move |message| {
            let seq = message.data.parse().expect("a number");
            seen.borrow_mut().push((message.last_event_id(), seq));
        }));
        tab
    }

    /// A tab recording states and sharing only.
    fn bare(source: EventSource) -> Self {
        let states = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&states);
        let sharing = Rc::new(RefCell::new(Vec::new()));
        let sharing_sink = Rc::clone(&sharing);
        let subscriptions = vec![
            source.on_state(move |state| sink.borrow_mut().push(state)),
            source.on_sharing(move |sharing| sharing_sink.borrow_mut().push(sharing)),
        ];
        Self {
            source,
            seen: Rc::default(),
            errors: Rc::default(),
            states,
            sharing,
            _subscriptions: subscriptions,
        }
    }

    fn seqs(&self) -> Vec<u64> {
        self.seen.borrow().iter().map(|(_, seq)| *seq).collect()
    }

    fn last_state(&self) -> Option<ConnectionState> {
        self.states.borrow().last().copied()
    }
}

fn shared(path: &str) -> EventSource {
    EventSource::builder(url(path)).share_across_tabs(true).open().expect("a valid URL")
}

#[wasm_bindgen_test]
async fn three_tabs_on_one_url_open_one_connection() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    let before = tidings::live_listeners();
    let tabs = [Tab::open(&path), Tab::open(&path), Tab::open(&path)];
    until("ticks in every tab", || tabs.iter().all(|tab| tab.seqs().len() >= 10)).await;
    assert_eq!(open_ticks(&key).await, 1, "one connection for three tabs");
    let roles: Vec<TabRole> = tabs.iter().map(|tab| tab.source.sharing().role).collect();
    assert_eq!(roles, [TabRole::Leader, TabRole::Follower, TabRole::Follower]);
    assert!(tabs[0].source.as_raw().is_some());
    assert!(tabs[1].source.as_raw().is_none(), "a follower has no browser source");
    until("every tab counts three tabs", || tabs.iter().all(|tab| tab.source.sharing().tabs == 3))
        .await;
    for tab in &tabs {
        assert_eq!(
            tab.source.state(),
            ConnectionState::Open,
            "a follower reads the leader's state"
        );
        assert_no_gap_no_duplicate("a tab", &tab.seqs());
        assert!(tab.errors.borrow().is_empty());
    }
    drop(tabs);
    ticks_become(&key, 0).await;
    assert_eq!(tidings::live_listeners(), before, "every listener, channel and lock released");
}

#[wasm_bindgen_test]
async fn names_ids_and_origin_reach_followers_and_a_decode_error_stays_in_its_tab() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    // The leader listens to typed ticks only; one follower to the `note` events only (the
    // leader must listen to them for it); another reads ticks as the wrong type.
    let leader = Tab::bare(shared(&path));
    let ticks = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&ticks);
    let _ticks = leader.source.on::<Tick>(move |received| sink.borrow_mut().push(received));
    let notes_tab = Tab::bare(shared(&path));
    let wrong_tab = Tab::bare(shared(&path));
    let wrong = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&wrong);
    let _wrong = wrong_tab
        .source
        .on_named::<String>("message", move |received| sink.borrow_mut().push(received));
    until("ticks in the other follower", || wrong.borrow().len() >= 3).await;
    until("three tabs", || notes_tab.source.sharing().tabs == 3).await;
    // Once every tab has said hello: only the follower's own word can tell the leader.
    let notes = Rc::new(RefCell::new(Vec::<Message<String>>::new()));
    let sink = Rc::clone(&notes);
    let _notes = notes_tab.source.on_raw("note", move |message| sink.borrow_mut().push(message));
    until("notes in the follower", || notes.borrow().len() >= 3).await;
    assert_eq!(leader.source.sharing().role, TabRole::Leader);
    for message in notes.borrow().iter() {
        assert_eq!(message.event(), "note");
        assert_eq!(message.last_event_id(), message.data, "the id of the event, with its data");
        assert_eq!(message.data.parse::<u64>().expect("a number") % 5, 0);
        assert_eq!(message.origin(), server(), "the stream's origin");
    }
    for received in wrong.borrow().iter() {
        let Err(error) = received else { panic!("{received:?} is not a decode error") };
        assert!(error.data.contains("\"seq\""), "the raw text is kept: {}", error.data);
    }
    for received in ticks.borrow().iter() {
        let message = received.as_ref().expect("the leader decodes every tick");
        assert_eq!(message.last_event_id(), message.data.seq.to_string());
        assert_eq!(message.origin(), server());
    }
    assert_eq!(open_ticks(&key).await, 1);
}

/// Drops `leader` and waits until one of `others` leads and both have had 60 more events
/// (`/test/ticks/{key}` down to one connection), each without a gap or a duplicate; gives how
/// long, in milliseconds, until another tab led.
async fn hand_over_without_a_gap(key: &str, leader: Tab, others: [&Tab; 2]) -> f64 {
    let [second, third] = others;
    let before = second.seqs().len().max(third.seqs().len());
    drop(leader);
    let handed_over = js_sys::Date::now();
    until("another tab leads", || {
        others.iter().any(|tab| tab.source.sharing().role == TabRole::Leader)
    })
    .await;
    let took = js_sys::Date::now() - handed_over;
    until("events keep coming", || {
        second.seqs().len() >= before + 60 && third.seqs().len() >= before + 60
    })
    .await;
    ticks_become(key, 1).await;
    assert_no_gap_no_duplicate("the second tab", &second.seqs());
    assert_no_gap_no_duplicate("the third tab", &third.seqs());
    took
}

#[wasm_bindgen_test]
async fn when_the_leader_goes_another_tab_leads_and_no_tab_misses_or_repeats_an_event() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10");
    let leader = Tab::open(&path);
    let second = Tab::open(&path);
    let third = Tab::open(&path);
    until("events in every tab", || third.seqs().len() >= 20).await;
    let took = hand_over_without_a_gap(&key, leader, [&second, &third]).await;
    assert!(took < 2_000.0, "the hand-over took {took} ms");
    // The new leader resumed after an id it had seen.
    let new_leader = [&second, &third]
        .into_iter()
        .find(|tab| tab.source.sharing().role == TabRole::Leader)
        .expect("a leader");
    let opened = new_leader.source.as_raw().expect("a leader's source").url();
    let resumed_after = opened.split("lastEventId=").nth(1).expect("a last id in the URL");
    assert!(new_leader.seen.borrow().iter().any(|(id, _)| id == resumed_after), "{opened}");
    let roles = [second.source.sharing().role, third.source.sharing().role];
    assert!(roles.contains(&TabRole::Leader) && roles.contains(&TabRole::Follower), "{roles:?}");
    for tab in [&second, &third] {
        let ids: Vec<String> = tab.seen.borrow().iter().map(|(id, _)| id.clone()).collect();
        let seqs: Vec<String> = tab.seqs().iter().map(u64::to_string).collect();
        assert_eq!(ids, seqs, "every event with its own id");
    }
}

#[wasm_bindgen_test]
async fn close_in_a_follower_leaves_only_that_tab_and_in_the_leader_hands_over() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    let leader = Tab::open(&path);
    let follower = Tab::open(&path);
    let other = Tab::open(&path);
    until("events in every tab", || other.seqs().len() >= 5).await;

    follower.source.close();
    assert_eq!(follower.source.state(), ConnectionState::Closed(CloseReason::ByUser));
    assert_eq!(follower.source.sharing().role, TabRole::Alone);
    let stopped_at = follower.seqs().len();
    let other_at = other.seqs().len();
    until("events go on in the others", || other.seqs().len() >= other_at + 10).await;
    assert_eq!(follower.seqs().len(), stopped_at, "a closed follower receives nothing");
    assert_eq!(leader.source.state(), ConnectionState::Open);
    until("two tabs left", || other.source.sharing().tabs == 2).await;

    leader.source.close();
    until("the last tab leads", || other.source.sharing().role == TabRole::Leader).await;
    let at = other.seqs().len();
    until("events go on", || other.seqs().len() >= at + 10).await;
    ticks_become(&key, 1).await;
    assert_no_gap_no_duplicate("the last tab", &other.seqs());
    assert_eq!(other.source.sharing().tabs, 1);
}

#[wasm_bindgen_test]
async fn handlers_dropped_and_added_200_times_in_a_follower_leave_no_listener() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    let leader = Tab::bare(shared(&path));
    let _ticks = leader.source.on::<Tick>(|_| {});
    let follower = Tab::bare(shared(&path));
    until("the leader is open", || leader.source.state() == ConnectionState::Open).await;
    let settled = tidings::live_listeners();
    let received = Rc::new(RefCell::new(0));
    for round in 0..200 {
        let sink = Rc::clone(&received);
        let name = if round % 2 == 0 { "note" } else { "other" };
        let subscription = follower.source.on_raw(name, move |_| *sink.borrow_mut() += 1);
        TimeoutFuture::new(0).await;
        drop(subscription);
    }
    // The leader put a listener on its source for each name the follower announced, and takes
    // it off when the follower says it stopped listening.
    until("the leader's listeners for the follower's names are gone", || {
        tidings::live_listeners() == settled
    })
    .await;
    // Still correct afterwards: a handler added now gets events.
    let sink = Rc::clone(&received);
    let before = *received.borrow();
    let _message = follower.source.on_raw("note", move |_| *sink.borrow_mut() += 1);
    until("events for a new handler", || *received.borrow() > before + 2).await;
}

#[wasm_bindgen_test]
async fn a_server_drop_reads_the_same_in_every_tab_and_loses_nothing() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    let leader = Tab::open(&path);
    let follower = Tab::open(&path);
    until("events in both", || follower.seqs().len() >= 5).await;
    fetch_text(&format!("/test/ticks/{key}/drop"), Some("")).await;
    let at = follower.seqs().len();
    until("events after the drop", || follower.seqs().len() >= at + 10).await;
    let reconnecting = ConnectionState::Reconnecting { attempt: 1, by: Retrier::Browser };
    for tab in [&leader, &follower] {
        let states = tab.states.borrow().clone();
        let dropped = states.iter().position(|state| *state == reconnecting);
        assert!(
            dropped.is_some_and(|at| states[at + 1..].contains(&ConnectionState::Open)),
            "{states:?}"
        );
        assert_no_gap_no_duplicate("a tab", &tab.seqs());
    }
}

#[wasm_bindgen_test]
async fn a_204_and_a_fatal_answer_read_the_same_in_every_tab() {
    common::require_fixtures().await;
    let key = key();
    // Two clean ends, then 204.
    let ended = [
        Tab::bare(shared(&format!("/test/sequence/{key}"))),
        Tab::bare(shared(&format!("/test/sequence/{key}"))),
    ];
    let closed = ConnectionState::Closed(CloseReason::Ended);
    until("both tabs ended", || ended.iter().all(|tab| tab.last_state() == Some(closed))).await;
    within("the follower's sharing to settle", async {
        until("the follower left", || ended[1].source.sharing().role == TabRole::Alone).await;
    })
    .await;

    let fatal = [Tab::bare(shared("/test/status/401")), Tab::bare(shared("/test/status/401"))];
    let closed = ConnectionState::Closed(CloseReason::Fatal { status: Some(401) });
    until("both tabs closed with 401", || fatal.iter().all(|tab| tab.last_state() == Some(closed)))
        .await;
    for tab in &fatal {
        assert!(
            !tab.states
                .borrow()
                .iter()
                .any(|state| matches!(state, ConnectionState::Closed(CloseReason::ByUser))),
            "{:?}",
            tab.states.borrow()
        );
        assert!(tab.sharing.borrow().iter().all(|sharing| sharing.role != TabRole::Unsupported));
    }
}

#[wasm_bindgen_test]
async fn a_tab_drops_the_events_it_had_when_the_new_leader_is_sent_them_again() {
    common::require_fixtures().await;
    // This server cannot resume: the new leader's stream starts from 1 again, and every tab
    // must recognise what it already dispatched.
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10&replay=1");
    let leader = Tab::open(&path);
    let second = Tab::open(&path);
    let third = Tab::open(&path);
    until("events in every tab", || third.seqs().len() >= 30).await;
    let before = second.seqs().len().max(third.seqs().len());
    drop(leader);
    until("events after the hand-over", || {
        second.seqs().len() >= before + 40 && third.seqs().len() >= before + 40
    })
    .await;
    assert_no_gap_no_duplicate("the second tab", &second.seqs());
    assert_no_gap_no_duplicate("the third tab", &third.seqs());
}

fn shared_after(path: &str, id: &str) -> EventSource {
    EventSource::builder(url(path))
        .share_across_tabs(true)
        .last_event_id(id)
        .open()
        .expect("a valid URL")
}

#[wasm_bindgen_test]
async fn a_tab_that_joins_after_an_id_gets_the_events_since_from_the_leader() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10");
    let leader = Tab::open(&path);
    until("events in the leader", || leader.seqs().len() >= 30).await;
    // Joins after event 7, long gone by: the leader replays 8 onwards from its history, then
    // the live events follow.
    let late = Tab::open_with(shared_after(&path, "7"));
    until("the late tab catches up", || late.seqs().len() >= 60).await;
    assert_eq!(late.seqs()[0], 8, "the first event after the id");
    assert_no_gap_no_duplicate("the late tab", &late.seqs());
    assert_eq!(late.source.sharing().role, TabRole::Follower);
    assert_eq!(open_ticks(&key).await, 1, "no connection of its own");
}

#[wasm_bindgen_test]
async fn a_tab_whose_id_the_leader_no_longer_has_connects_by_itself_without_a_gap() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=1");
    let leader = Tab::open(&path);
    // More than a leader keeps (512 events).
    until("events in the leader", || leader.seqs().len() >= 700).await;
    let late = Tab::open_with(shared_after(&path, "3"));
    until("the late tab's events", || late.seqs().len() >= 100).await;
    assert_eq!(late.seqs()[0], 4);
    assert_no_gap_no_duplicate("the late tab", &late.seqs());
    assert_eq!(late.source.sharing().role, TabRole::Alone, "it said so");
    ticks_become(&key, 2).await;
}

#[wasm_bindgen_test]
async fn events_without_an_id_of_their_own_reach_every_tab_every_time() {
    common::require_fixtures().await;
    // A `ping` after every third event keeps that event's id: it is not a repeat.
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10&pings=1");
    let pings = |source: &EventSource| {
        let seen = Rc::new(RefCell::new(Vec::<u64>::new()));
        let sink = Rc::clone(&seen);
        let subscription = source
            .on_raw("ping", move |message| sink.borrow_mut().push(message.data.parse().unwrap()));
        (seen, subscription)
    };
    let leader = Tab::open(&path);
    let (leader_pings, _leader_pings) = pings(&leader.source);
    let follower = Tab::open(&path);
    let (follower_pings, _follower_pings) = pings(&follower.source);
    until("pings in the follower", || follower_pings.borrow().len() >= 10).await;
    let pinged = follower_pings.borrow().clone();
    let expected: Vec<u64> = (0..pinged.len() as u64).map(|i| pinged[0] + 3 * i).collect();
    assert_eq!(pinged, expected, "every ping, in order");
    assert!(leader_pings.borrow().len() >= pinged.len());

    // Through a hand-over too: the new leader's own pings are not taken for repeats.
    drop(leader);
    until("the follower leads", || follower.source.sharing().role == TabRole::Leader).await;
    let at = follower_pings.borrow().len();
    until("pings after the hand-over", || follower_pings.borrow().len() >= at + 10).await;
    let pinged = follower_pings.borrow().clone();
    let expected: Vec<u64> = (0..pinged.len() as u64).map(|i| pinged[0] + 3 * i).collect();
    assert_eq!(pinged, expected, "every ping, in order, across the hand-over");
    assert_no_gap_no_duplicate("the follower", &follower.seqs());
}

#[wasm_bindgen_test]
async fn a_tab_that_joins_after_the_id_the_leader_started_from_gets_everything_since() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}");
    let leader = Tab::open_with(shared_after(&path, "10"));
    until("events in the leader", || leader.seqs().len() >= 5).await;
    assert_eq!(leader.seqs()[0], 11);
    let late = Tab::open_with(shared_after(&path, "10"));
    until("the late tab's events", || late.seqs().len() >= 10).await;
    assert_eq!(late.seqs()[0], 11, "from the leader's start");
    assert_no_gap_no_duplicate("the late tab", &late.seqs());
    assert_eq!(late.source.sharing().role, TabRole::Follower);
    assert_eq!(open_ticks(&key).await, 1);
}

#[wasm_bindgen_test]
async fn a_tab_that_joins_after_an_id_for_names_the_leader_did_not_hear_connects_by_itself() {
    common::require_fixtures().await;
    // The leader listens to ticks only: its history has no `note` events, so a tab that joins
    // after an id wanting notes cannot be given them, and connects by itself.
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10");
    let leader = Tab::bare(shared(&path));
    let ticks = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&ticks);
    let _ticks = leader.source.on::<Tick>(move |_| *sink.borrow_mut() += 1);
    until("ticks in the leader", || *ticks.borrow() >= 20).await;
    let late = Tab::bare(shared_after(&path, "7"));
    let notes = Rc::new(RefCell::new(Vec::<u64>::new()));
    let sink = Rc::clone(&notes);
    let _notes = late
        .source
        .on_raw("note", move |message| sink.borrow_mut().push(message.data.parse().unwrap()));
    until("notes in the late tab", || notes.borrow().len() >= 5).await;
    assert_eq!(notes.borrow()[..3], [10, 15, 20], "every note after 7");
    assert_eq!(late.source.sharing().role, TabRole::Alone);
}

#[wasm_bindgen_test]
async fn a_handler_that_drops_its_source_during_a_replay_raises_no_error() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10");
    let leader = Tab::open(&path);
    until("events in the leader", || leader.seqs().len() >= 30).await;
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = Rc::clone(&errors);
    let window = web_sys::window().expect("a window");
    let _errors = gloo_events::EventListener::new(&window, "error", move |event| {
        let message =
            js_sys::Reflect::get(event, &"message".into()).ok().and_then(|m| m.as_string());
        sink.borrow_mut().push(message.unwrap_or_default());
    });
    let late: Rc<RefCell<Option<EventSource>>> =
        Rc::new(RefCell::new(Some(shared_after(&path, "5"))));
    let dropped = Rc::new(RefCell::new(0));
    let (slot, count) = (Rc::clone(&late), Rc::clone(&dropped));
    let _first = late.borrow().as_ref().expect("open").on_raw("message", move |_| {
        // The first replayed event drops the whole source, while more are being delivered.
        *count.borrow_mut() += 1;
        let source = slot.borrow_mut().take();
        drop(source);
    });
    until("the replay reached the handler", || *dropped.borrow() >= 1).await;
    TimeoutFuture::new(300).await;
    assert_eq!(*dropped.borrow(), 1, "nothing after the drop");
    assert!(errors.borrow().is_empty(), "{:?}", errors.borrow());
    assert_eq!(leader.source.sharing().role, TabRole::Leader);
}

/// A stand-in for one tab's page visibility: several sources of one page act as tabs with
/// pages of their own.
struct Page(web_sys::EventTarget);

impl Page {
    fn visible() -> Self {
        let page = Self(web_sys::EventTarget::new().expect("an event target"));
        js_sys::Reflect::set(&page.0, &"hidden".into(), &false.into()).expect("a property");
        page
    }

    fn set_hidden(&self, hidden: bool) {
        js_sys::Reflect::set(&self.0, &"hidden".into(), &hidden.into()).expect("a property");
        let change = web_sys::Event::new("visibilitychange").expect("an event");
        self.0.dispatch_event(&change).expect("dispatched");
    }

    fn tab(&self, path: &str) -> Tab {
        let source = EventSource::builder(url(path))
            .share_across_tabs(true)
            .hidden_tab_policy(HiddenTabPolicy::CloseAfter(Duration::from_millis(300)))
            .visibility_target(self.0.clone())
            .open()
            .expect("a valid URL");
        Tab::open_with(source)
    }
}

#[wasm_bindgen_test]
async fn a_hidden_leader_hands_over_to_a_visible_tab_and_only_every_tab_hidden_closes_it() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=20");
    let (first_page, second_page) = (Page::visible(), Page::visible());
    let first = first_page.tab(&path);
    let second = second_page.tab(&path);
    until("ticks in both tabs", || second.seqs().len() >= 10).await;
    assert_eq!(first.source.sharing().role, TabRole::Leader);

    // The leader's page is hidden, the other's is not: the other takes the connection.
    first_page.set_hidden(true);
    until("the visible tab leads", || {
        second.source.sharing().role == TabRole::Leader
            && first.source.sharing().role == TabRole::Follower
    })
    .await;
    let handed = (first.seqs().len(), second.seqs().len());
    until("events in both tabs", || {
        first.seqs().len() >= handed.0 + 30 && second.seqs().len() >= handed.1 + 30
    })
    .await;
    ticks_become(&key, 1).await;
    assert_eq!(first.source.state(), ConnectionState::Open, "the hidden tab still follows");

    // Every page hidden: the connection closes, and every tab says why.
    second_page.set_hidden(true);
    until("every tab reads hidden", || {
        first.source.state() == ConnectionState::Hidden
            && second.source.state() == ConnectionState::Hidden
    })
    .await;
    ticks_become(&key, 0).await;

    // A page visible again: its tab gets the connection and resumes after the last id.
    first_page.set_hidden(false);
    until("the visible tab leads again", || {
        first.source.sharing().role == TabRole::Leader
            && first.source.state() == ConnectionState::Open
    })
    .await;
    let back = (first.seqs().len(), second.seqs().len());
    until("events again in both tabs", || {
        first.seqs().len() >= back.0 + 30 && second.seqs().len() >= back.1 + 30
    })
    .await;
    ticks_become(&key, 1).await;
    assert_no_gap_no_duplicate("the first tab", &first.seqs());
    assert_no_gap_no_duplicate("the second tab", &second.seqs());
    for tab in [&first, &second] {
        assert!(tab.states.borrow().iter().all(|state| !state.is_closed()));
        assert!(tab.errors.borrow().is_empty());
    }
}

/// The same hand-over with the fetch transport: the leader's connection is a `fetch`, and the
/// new leader resumes with a `Last-Event-ID` header.
#[wasm_bindgen_test]
async fn with_the_fetch_transport_the_new_leader_resumes_and_no_tab_misses_or_repeats_an_event() {
    common::require_fixtures().await;
    let key = key();
    let path = format!("/test/ticks/{key}?every_ms=10");
    let open = || {
        let source = EventSource::builder(url(&path))
            .share_across_tabs(true)
            .fetch(tidings::FetchOptions::new().header("Authorization", "Bearer t"))
            .open()
            .expect("a valid URL");
        Tab::open_with(source)
    };
    let leader = open();
    let second = open();
    let third = open();
    until("events in every tab", || third.seqs().len() >= 20).await;
    assert!(leader.source.as_raw().is_none(), "the leader's connection is a fetch");
    hand_over_without_a_gap(&key, leader, [&second, &third]).await;
}
