// A listener for one event name on a browser EventSource (or the fetch transport's target): it
// reads the event's data and calls into wasm once per event (a leader tab also relays the event
// to the others). Used by `src/tap.rs`.

export function tap_state(relay, carried) {
    return { origin: undefined, relay, carried, lastId: "" };
}
export function tap(target, name, state, handler) {
    const listener = (event) => {
        // The connection's own `open` and `error` are plain Events: not for the handlers. An
        // event of the stream is a MessageEvent, or the fetch transport's plain object with the
        // same fields (`js/fetch.js`).
        if (event instanceof Event && !(event instanceof MessageEvent)) return;
        const data = typeof event.data === "string" ? event.data : String(event.data);
        if (state.relay !== undefined && !state.relay.left) {
            // A leader passes every event on to the other tabs (see `group.rs`), with the id in
            // force: a re-created source reports none until the server sends one.
            const fresh = event.lastEventId !== state.lastId;
            state.lastId = event.lastEventId;
            state.relay.relay(
                ["e", name, data, event.lastEventId || state.carried, event.origin, fresh]);
        }
        let origin;
        if (state.origin === undefined) {
            state.origin = event.origin;
            origin = state.origin;
        }
        handler(data, event, origin);
    };
    target.addEventListener(name, listener);
    return listener;
}
export function untap(target, name, listener) {
    target.removeEventListener(name, listener);
}
