// Shipped to browsers as written, so explained in src/group.rs rather than here.
const HISTORY = 512;
function remember(group, note) {
    group.history.push(note);
    if (group.history.length > HISTORY) group.history.shift();
}
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
function order(id) {
    const parts = /^(\d{1,20})-(\d{1,20})$/.exec(id);
    return parts ? [BigInt(parts[1]), BigInt(parts[2])] : null;
}
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
function deliverAll(group, notes) {
    for (const note of notes) {
        if (group.left) return false;
        deliver(group, note);
    }
    return !group.left;
}
function received(group, note) {
    if (group.leading) return;
    remember(group, note);
    if (group.waiting === null) {
        deliver(group, note);
    } else if (group.seeking && note[5] && note[3] === group.waiting) {
        stopWaiting(group);
        group.onNote(["replayed", "", 1]);
    } else if (group.seeking && note[5] && later(note[3], group.waiting) === true) {
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
        if (group.left) return undefined;
        onLead();
        return held;
    }).catch(() => {});
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
    if (linger > 0) setTimeout(group.release, linger); else group.release();
    group.history = [];
    group.pending = [];
}
export function group_count(name) {
    return navigator.locks.query().then((locks) =>
        locks.held.filter((lock) => lock.name === name).length
            + locks.pending.filter((lock) => lock.name === name).length);
}
