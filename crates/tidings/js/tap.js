// Shipped to browsers as written, so explained in src/tap.rs rather than here.
export function tap_state(relay, carried) {
    return { origin: undefined, relay, carried, lastId: "" };
}
export function tap(target, name, state, handler) {
    const listener = (event) => {
        if (event instanceof Event && !(event instanceof MessageEvent)) return;
        const data = typeof event.data === "string" ? event.data : String(event.data);
        if (state.relay !== undefined && !state.relay.left) {
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
