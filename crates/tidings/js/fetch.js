// The fetch transport's two crossings per step (see `src/fetch.rs`): it dispatches what a
// browser EventSource dispatches, and reads its body a chunk at a time.

// One event: a MessageEvent, as the browser's EventSource makes it.
export function fire(target, name, data, lastEventId, origin) {
    target.dispatchEvent(new MessageEvent(name, { data, lastEventId, origin }));
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
