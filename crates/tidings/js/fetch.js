// Shipped to browsers as written, so explained in src/fetch.rs rather than here.
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
export function connection(origin) {
    return { origin, name: "message" };
}
export function set_name(connection, name) {
    connection.name = name;
}
export function fire(target, connection, data, lastEventId) {
    const { name, origin } = connection;
    target.deliver({ type: name, data, lastEventId, origin, timeStamp: performance.now() });
}
export function fire_plain(target, name) {
    target.dispatchEvent(new Event(name));
}
export async function next_chunk(reader) {
    const { done, value } = await reader.read();
    return done ? undefined : value;
}
