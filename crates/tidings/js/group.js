// The tabs of an origin that share one connection: a Web Lock that one tab holds (the leader)
// and the others wait for, and a BroadcastChannel that carries the leader's events and every
// tab's notes. Used by `src/group.rs` (its Rust side) and tested by itself in
// `tests/group_js.rs`, in Chrome and Firefox.

// A relayed event is ["e", name, data, id in force, origin, fresh]: `fresh` when the event set a
// new id (an event without an `id:` line keeps the previous one, and is never a repeat).
// The relayed events a tab keeps, to answer a tab that joins after an id it had.
const HISTORY = 512;
function remember(group, note) {
    group.history.push(note);
    if (group.history.length > HISTORY) group.history.shift();
}
// One post per batch of events (a post costs more than the event: a trip through the browser),
// sent once the events queued now are dispatched, and before any other note.
function relay(group, note) {
    remember(group, note);
    group.outbox.push(note);
    if (group.outbox.length === 1) group.flusher.port2.postMessage(null);
}
function flush(group) {
    if (group.outbox.length === 0) return;
    const batch = group.outbox;
    group.outbox = [];
    if (!group.left) group.channel.postMessage(["b", batch]);
}
// Ids of the form `<epoch>-<seq>` (tidings-wire's, and Redis's) are ordered: the epoch, then the
// sequence. Other ids are opaque and only compared for equality.
function order(id) {
    const parts = /^(\d{1,20})-(\d{1,20})$/.exec(id);
    return parts ? [BigInt(parts[1]), BigInt(parts[2])] : null;
}
// Whether `id` comes after `than` in one epoch (null when either is opaque or they differ).
function later(id, than) {
    const a = order(id), b = order(than);
    if (a === null || b === null || a[0] !== b[0]) return null;
    return a[1] > b[1];
}
function stopWaiting(group) {
    group.waiting = null;
    group.seeking = false;
    const pending = group.pending;
    group.pending = [];
    return pending;
}
// Dispatches `notes` until the group is left (a handler may close the source).
function deliverAll(group, notes) {
    for (const note of notes) {
        if (group.left) return false;
        deliver(group, note);
    }
    return !group.left;
}
function received(group, note) {
    // A leader's own source resumed after its own last id: what an old leader sends late, it has.
    if (group.leading) return;
    remember(group, note);
    if (group.waiting === null) {
        deliver(group, note);
    } else if (group.seeking && note[5] && note[3] === group.waiting) {
        // The id this tab joined after: it had what came before; what follows is new.
        stopWaiting(group);
        group.onNote(["replayed", "", 1]);
    } else if (group.seeking && note[5] && later(note[3], group.waiting) === true) {
        // Past the id this tab joined after (one of another topic, say): this one is new.
        stopWaiting(group);
        deliver(group, note);
        if (!group.left) group.onNote(["replayed", "", 1]);
    } else {
        group.pending.push(note);
    }
}
function deliver(group, note) {
    if (note[0] !== "e") return;
    const [, event, data, id, origin, fresh] = note;
    const dispatched = new MessageEvent(event, { data, lastEventId: id, origin });
    group.onEvent(event, data, id, dispatched, origin, fresh);
}
// The leader's answer to a joining tab's hello: ["replay", from, to, outcome, events], outcome 1
// (the events since its id follow), 0 (its id is not in the history: maybe not relayed yet) or
// -1 (it cannot be answered: the tab must connect by itself).
function answered(group, note, onNote) {
    const outcome = note[3];
    if (outcome === 1) {
        const pending = stopWaiting(group);
        if (deliverAll(group, note[4]) && deliverAll(group, pending)) onNote(["replayed", note[1], 1]);
    } else if (outcome === 0) {
        const after = group.waiting;
        let index = group.pending.findIndex((held) => held[5] && held[3] === after);
        let from = index + 1;
        if (index < 0) {
            from = group.pending.findIndex((held) => held[5] && later(held[3], after) === true);
        }
        if (index < 0 && from < 0) {
            group.seeking = true;
            return;
        }
        const rest = stopWaiting(group).slice(from);
        if (deliverAll(group, rest)) onNote(["replayed", note[1], 1]);
    } else {
        stopWaiting(group);
        onNote(["replayed", note[1], -1]);
    }
}
export function group_supported() {
    const locks = globalThis.navigator && globalThis.navigator.locks;
    return typeof BroadcastChannel === "function" && !!locks && typeof locks.request === "function";
}
export function group_join(name, id, onLead, onEvent, onNote) {
    const group = {
        channel: new BroadcastChannel(name), abort: new AbortController(), release: () => {},
        left: false, leading: false, id, onEvent, onNote, history: [],
        waiting: null, seeking: false, pending: [],
        outbox: [], flusher: new MessageChannel(), relay: null,
    };
    group.relay = (note) => relay(group, note);
    group.flusher.port1.onmessage = () => flush(group);
    group.channel.onmessage = (message) => {
        if (group.left) return;
        const note = message.data;
        if (!Array.isArray(note)) return;
        if (note[0] === "b") {
            for (const event of note[1]) {
                if (group.left) return;
                received(group, event);
            }
        } else if (note[0] === "replay") {
            if (note[2] === group.id && group.waiting !== null && !group.leading) {
                answered(group, note, onNote);
            }
        } else {
            onNote(note);
        }
    };
    const held = new Promise((resolve) => { group.release = resolve; });
    navigator.locks.request(name, { signal: group.abort.signal }, () => {
        // Left while waiting, after the grant was queued: give the lock straight back.
        if (group.left) return undefined;
        onLead();
        return held;
    }).catch(() => {}); // AbortError: the request was withdrawn
    return group;
}
export function group_post(group, note) {
    flush(group);
    if (!group.left) group.channel.postMessage(note);
}
export function group_wait(group, after) {
    stopWaiting(group);
    group.waiting = after;
}
export function group_lead(group, start) {
    group.leading = true;
    stopWaiting(group);
    // Where this leader's events start: a tab that joins after `start` gets them all.
    remember(group, ["m", "", "", start, "", true]);
}
export function group_replay(group, after, to, current, known) {
    if (group.left) return;
    flush(group);
    let outcome = -1, events = [];
    if (known && after === current) {
        outcome = 1;
    } else if (known) {
        const index = group.history.findLastIndex((note) => note[3] === after);
        if (index >= 0) {
            outcome = 1;
            events = group.history.slice(index + 1);
        } else if (group.history.some((note) => later(note[3], after) === false)) {
            // Ordered ids, and the history reaches back to `after` (an id this stream did not
            // carry: another topic's): the events after it are those with later ids.
            outcome = 1;
            const first = group.history.findIndex((note) => later(note[3], after) === true);
            events = first < 0 ? [] : group.history.slice(first);
        } else {
            outcome = 0;
        }
    }
    group.channel.postMessage(["replay", group.id, to, outcome, events]);
}
export function group_leave(group, linger) {
    if (group.left) return;
    flush(group);
    group.left = true;
    group.flusher.port1.onmessage = null;
    group.flusher.port1.close();
    group.flusher.port2.close();
    group.channel.onmessage = null;
    group.channel.close();
    group.abort.abort();
    // After a final close, the others hear it before the next tab gets the lock.
    if (linger > 0) setTimeout(group.release, linger); else group.release();
    group.history = [];
    group.pending = [];
}
export function group_count(name) {
    return navigator.locks.query().then((locks) =>
        locks.held.filter((lock) => lock.name === name).length
            + locks.pending.filter((lock) => lock.name === name).length);
}
