// The fetch transport's two crossings per step (see `src/fetch.rs`): it dispatches what a
// browser EventSource dispatches, and reads its body a chunk at a time.

// What one connection's events share: their origin, and the type of the latest (most events of
// a stream share one), set from wasm only when they change, so that an event crosses with its
// data and id alone.
export function connection(origin) {
    return { origin, name: "message" };
}
export function set_name(connection, name) {
    connection.name = name;
}

// One event: a MessageEvent, as the browser's EventSource makes it.
export function fire(target, connection, data, lastEventId) {
    const { name, origin } = connection;
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
