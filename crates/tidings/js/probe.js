// Shipped to browsers as written, so explained in src/classify.rs rather than here.
export function probe(url, include, done) {
    const controller = new AbortController();
    (async () => {
        let status = 0;
        try {
            const response = await fetch(url, {
                cache: "no-store",
                credentials: include ? "include" : "same-origin",
                headers: { Accept: "text/event-stream" },
                signal: controller.signal,
            });
            status = response.status;
        } catch (_) {}
        controller.abort();
        done(status);
    })();
    return controller;
}
export function abort(controller) {
    controller.abort();
}
