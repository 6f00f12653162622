// Benchmark peer: better-sse 0.16.1 on Node's built-in `http` module.
//
// Written the way better-sse's README shows it: one `createSession(req, res)`
// per request, registered on one `createChannel()`, and a ticker that calls
// `channel.broadcast(...)` (the documented way to fan out to many clients).
//
// Contract (shared by all peers in bench/peers/):
//   PORT (default 8080) on 127.0.0.1, RATE ticks per second (float, default 10).
//   GET /api/events (query string ignored) -> text/event-stream of live ticks:
//     id:<seq>
//     data:{"seq":<seq>,"value":<value>,"at_ms":<at_ms>}
//
// What better-sse does by itself (kept as the defaults, not changed):
// - It always writes an `event:` field; `broadcast(data)` without a name writes
//   `event:message`, which is the same event as an unnamed one for EventSource.
// - Fields are written without a space after the colon (`id:3`, `data:{...}`).
// - Each new session first gets `retry:2000` and then a keep-alive comment
//   (a bare `:` line) every 10 s, from a per-session setInterval.
// - Response headers: Content-Type: text/event-stream, Cache-Control:
//   "private, no-cache, no-store, no-transform, must-revalidate, max-age=0",
//   Connection: keep-alive, Pragma: no-cache, X-Accel-Buffering: no.
// - No history / no resume: better-sse keeps no backlog. It reads
//   Last-Event-ID into `session.lastId`, but replaying is left to the app, and
//   this peer (like the others) keeps no history.
// - Data goes through the session's serializer, JSON.stringify by default, so
//   we pass the plain object (passing a JSON string would double-encode it).
//   Note that it serializes once per session per event (broadcast calls
//   session.push for each session).
// - No per-client queue: push() writes straight into res.write(), i.e. Node's
//   own socket write buffer.
//
// SIGTERM: no handler, as neither better-sse nor Node's http docs add one; Node
// then dies from the signal at once (exit status 143) and the kernel closes the
// open streams (clients see the connection end, without a final chunk).
"use strict";

const http = require("node:http");
const { createSession, createChannel } = require("better-sse");

const PORT = Number.parseInt(process.env.PORT ?? "8080", 10);
const RATE = Number.parseFloat(process.env.RATE ?? "10");
if (!(RATE > 0)) throw new Error(`RATE must be > 0, got ${process.env.RATE}`);

const ticker = createChannel();

const server = http.createServer(async (req, res) => {
	const { pathname } = new URL(req.url ?? "/", "http://localhost");
	if (req.method === "GET" && pathname === "/api/events") {
		const session = await createSession(req, res);
		ticker.register(session); // deregistered by the channel on disconnect
		return;
	}
	res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
});

// Streams are long-lived and idle between ticks, so no server timeout may cut
// them: requestTimeout (default 300 s) is switched off; headersTimeout only
// covers receiving the request head and keepAliveTimeout only the idle time
// between two requests on one connection, so both keep Node's defaults;
// server.timeout (socket inactivity) is 0 by default; maxConnections is left
// unset, which means unlimited.
server.requestTimeout = 0;

// --- ticker -----------------------------------------------------------------
// One timer with period max(1 ms, 1/RATE); on every wake-up emit as many ticks
// as are due by elapsed (monotonic) time x RATE, so high rates are met on average.
const periodMs = Math.max(1, 1000 / RATE);
const start = performance.now(); // monotonic
let seq = 0;
let value = 100.0;

function tick() {
	const due = Math.floor(((performance.now() - start) / 1000) * RATE);
	while (seq < due) {
		seq += 1;
		value = Math.max(1, Math.round((value + (Math.random() * 2 - 1)) * 100) / 100);
		const event = { seq, value, at_ms: Date.now() }; // wall clock, integer ms
		ticker.broadcast(event, undefined, { eventId: String(seq) });
	}
}

server.listen({ host: "127.0.0.1", port: PORT, backlog: 4096 }, () => {
	setInterval(tick, periodMs);
	console.log(`better-sse peer on http://127.0.0.1:${PORT}/api/events, ${RATE} events/s`);
});
