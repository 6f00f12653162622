//! `js/group.js` by itself, in real browsers: the lock that elects one leader, the batches of
//! relayed events, the replay a late tab asks for, and leaving. No server: several groups of one
//! name in this page are several tabs (Web Locks and `BroadcastChannel` work the same between
//! two objects of one page as between two tabs). The driver's use of it is tested in `tabs.rs`.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;

use common::{key, until};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/js/group.js")]
extern "C" {
    fn group_supported() -> bool;
    fn group_join(
        name: &str,
        id: &str,
        on_lead: &JsValue,
        on_event: &JsValue,
        on_note: &JsValue,
    ) -> JsValue;
    fn group_wait(group: &JsValue, after: &JsValue);
    fn group_lead(group: &JsValue, start: &str);
    fn group_replay(group: &JsValue, after: &str, to: &str, current: &str, known: bool);
    fn group_leave(group: &JsValue, linger: u32);
    fn group_count(name: &str) -> js_sys::Promise;
}

type OnEvent = dyn FnMut(String, String, String, JsValue, String, bool);

/// A member's callbacks: on lead, on event, on note.
type Callbacks = (Closure<dyn FnMut()>, Closure<OnEvent>, Closure<dyn FnMut(JsValue)>);

/// One member of a group (a "tab"): whether it leads, the events and notes it was given.
struct Member {
    group: JsValue,
    led: Rc<Cell<bool>>,
    /// Each event given: (name, data, id).
    events: Rc<RefCell<Vec<(String, String, String)>>>,
    notes: Rc<RefCell<Vec<Array>>>,
    _callbacks: Callbacks,
}

impl Member {
    fn join(name: &str, id: &str) -> Self {
        let led = Rc::new(Cell::new(false));
        let events = Rc::new(RefCell::new(Vec::new()));
        let notes = Rc::new(RefCell::new(Vec::new()));
        let on_lead = {
            let led = Rc::clone(&led);
            Closure::<dyn FnMut()>::new(move || led.set(true))
        };
        let on_event = {
            let events = Rc::clone(&events);
            Closure::<OnEvent>::new(move |name, data, id, _event, _origin, _fresh| {
                events.borrow_mut().push((name, data, id));
            })
        };
        let on_note = {
            let notes = Rc::clone(&notes);
            Closure::<dyn FnMut(JsValue)>::new(move |note: JsValue| {
                notes.borrow_mut().push(note.unchecked_into());
            })
        };
        let group = group_join(name, id, on_lead.as_ref(), on_event.as_ref(), on_note.as_ref());
        Self { group, led, events, notes, _callbacks: (on_lead, on_event, on_note) }
    }

    /// Relays an event as a leader's tap does: ["e", name, data, id, origin, fresh].
    fn relay(&self, name: &str, data: &str, id: &str) {
        let note = Array::new();
        let fields: [JsValue; 6] = [
            "e".into(),
            name.into(),
            data.into(),
            id.into(),
            "https://example.test".into(),
            true.into(),
        ];
        fields.iter().for_each(|field| {
            note.push(field);
        });
        let relay: Function = Reflect::get(&self.group, &"relay".into()).unwrap().unchecked_into();
        relay.call1(&JsValue::NULL, &note).unwrap();
    }

    fn ids(&self) -> Vec<String> {
        self.events.borrow().iter().map(|(_, _, id)| id.clone()).collect()
    }

    /// The outcome of the `replayed` note it was given, if any.
    fn replayed(&self) -> Option<i32> {
        self.notes.borrow().iter().find_map(|note| {
            (note.get(0).as_string().as_deref() == Some("replayed"))
                .then(|| note.get(2).as_f64().unwrap_or_default() as i32)
        })
    }

    fn leave(&self) {
        group_leave(&self.group, 0);
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // Silences the group before its callbacks go.
        self.leave();
    }
}

/// Tabs in the group `name`, holding the lock or waiting for it.
async fn count(name: &str) -> f64 {
    JsFuture::from(group_count(name)).await.unwrap().as_f64().unwrap()
}

#[wasm_bindgen_test]
async fn one_member_leads_and_the_next_takes_over_when_it_leaves() {
    assert!(group_supported(), "the test browsers have Web Locks and BroadcastChannel");
    let name = format!("group-{}", key());
    let first = Member::join(&name, "first");
    until("the first to lead", || first.led.get()).await;
    let second = Member::join(&name, "second");
    assert_eq!(count(&name).await, 2.0, "one holds the lock, one waits");
    assert!(!second.led.get(), "one leader at a time");
    first.leave();
    until("the second to lead once the first left", || second.led.get()).await;
    assert_eq!(count(&name).await, 1.0);
}

#[wasm_bindgen_test]
async fn a_leaders_events_reach_the_others_in_order_and_a_late_member_gets_those_after_its_id() {
    let name = format!("group-{}", key());
    let leader = Member::join(&name, "leader");
    until("the leader to lead", || leader.led.get()).await;
    group_lead(&leader.group, "7-0");
    let follower = Member::join(&name, "follower");
    for seq in 1..=3 {
        leader.relay("tick", &format!("d{seq}"), &format!("7-{seq}"));
    }
    until("three events at the follower", || follower.events.borrow().len() == 3).await;
    assert_eq!(follower.ids(), ["7-1", "7-2", "7-3"]);
    assert_eq!(follower.events.borrow()[0], ("tick".into(), "d1".into(), "7-1".into()));

    // A member that had everything up to 7-1 asks for the rest; the leader answers it.
    let late = Member::join(&name, "late");
    group_wait(&late.group, &"7-1".into());
    group_replay(&leader.group, "7-1", "late", "7-3", true);
    until("the replay to end", || late.replayed().is_some()).await;
    assert_eq!(late.replayed(), Some(1));
    assert_eq!(late.ids(), ["7-2", "7-3"], "the events after its id, once");

    // Live events after the replay reach both, once.
    leader.relay("tick", "d4", "7-4");
    until("7-4 at both", || follower.events.borrow().len() == 4 && late.ids().len() == 3).await;
    assert_eq!(late.ids(), ["7-2", "7-3", "7-4"]);
    assert_eq!(follower.ids(), ["7-1", "7-2", "7-3", "7-4"]);
}

#[wasm_bindgen_test]
async fn an_id_the_leader_cannot_place_sends_the_member_to_connect_by_itself() {
    let name = format!("group-{}", key());
    let leader = Member::join(&name, "leader");
    until("the leader to lead", || leader.led.get()).await;
    group_lead(&leader.group, "7-0");
    leader.relay("tick", "d1", "7-1");
    let late = Member::join(&name, "late");
    group_wait(&late.group, &"not-ordered".into());
    // Not a stream of this leader's (`known` false): it cannot be answered.
    group_replay(&leader.group, "not-ordered", "late", "7-1", false);
    until("the answer", || late.replayed().is_some()).await;
    assert_eq!(late.replayed(), Some(-1));
    assert!(late.ids().is_empty(), "no event given for an id it cannot place");
}

#[wasm_bindgen_test]
async fn a_member_that_left_is_given_nothing_more() {
    let name = format!("group-{}", key());
    let leader = Member::join(&name, "leader");
    until("the leader to lead", || leader.led.get()).await;
    group_lead(&leader.group, "7-0");
    let gone = Member::join(&name, "gone");
    let stays = Member::join(&name, "stays");
    leader.relay("tick", "d1", "7-1");
    until("7-1 at both", || gone.ids().len() == 1 && stays.ids().len() == 1).await;
    gone.leave();
    leader.relay("tick", "d2", "7-2");
    until("7-2 at the member that stayed", || stays.ids().len() == 2).await;
    assert_eq!(gone.ids(), ["7-1"], "nothing after leaving");
    assert_eq!(count(&name).await, 2.0, "the leader and the one that stayed");
}
