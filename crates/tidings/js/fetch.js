// The fetch transport's JavaScript (see `src/fetch.rs`): its target, which hands each event to
// its listeners directly, and the body read a chunk at a time.

// The fetch transport's `EventTarget`. `open` and `error` are dispatched as DOM events, as a
// browser EventSource dispatches them. An event of the stream is handed to the listeners of its
// type directly, as a plain object with what a `MessageEvent` has (`type`, `data`,
// `lastEventId`, `origin`, `timeStamp`): building a `MessageEvent` and dispatching it cost more
// than everything else an event takes. As in a DOM dispatch, listeners are called in the order
// they were added, one removed meanwhile is not called, and one that throws is reported without
// stopping the others.
class FetchTarget extends EventTarget {
    constructor() {
        super();
        this.listeners = new Map();
    }
    addEventListener(type, listener, options) {
        super.addEventListener(type, listener, options);
        const entries = this.listeners.get(type) ?? [];
        if (!entries.some((entry) => entry.listener === listener)) {
            this.listeners.set(type, [...entries, { listener, removed: false }]);
        }
    }
    removeEventListener(type, listener, options) {
        super.removeEventListener(type, listener, options);
        const entries = this.listeners.get(type) ?? [];
        for (const entry of entries) {
            if (entry.listener === listener) entry.removed = true;
        }
        this.listeners.set(type, entries.filter((entry) => !entry.removed));
    }
    deliver(event) {
        for (const entry of this.listeners.get(event.type) ?? []) {
            if (entry.removed) continue;
            try {
                const { listener } = entry;
                if (typeof listener === "function") listener.call(this, event);
                else listener.handleEvent(event);
            } catch (error) {
                globalThis.reportError(error);
            }
        }
    }
}

export function new_target() {
    return new FetchTarget();
}

// What one connection's events share: their origin, and the type of the latest (most events of
// a stream share one), set from wasm only when they change, so that an event crosses with its
// data and id alone.
export function connection(origin) {
    return { origin, name: "message" };
}
export function set_name(connection, name) {
    connection.name = name;
}

// One event of the stream.
export function fire(target, connection, data, lastEventId) {
    const { name, origin } = connection;
    target.deliver({ type: name, data, lastEventId, origin, timeStamp: performance.now() });
}

// The connection's own `open` or `error`: a plain Event.
export function fire_plain(target, name) {
    target.dispatchEvent(new Event(name));
}

// The body's next chunk (a Uint8Array), or undefined at its end.
export async function next_chunk(reader) {
    const { done, value } = await reader.read();
    return done ? undefined : value;
}
