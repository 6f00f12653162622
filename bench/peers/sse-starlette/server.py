"""Benchmark peer: sse-starlette 3.7.1 on Starlette + plain uvicorn, one process.

Written the way sse-starlette's README and its broadcasting example show it:
a Starlette route returns ``EventSourceResponse(generator)``; a single ticker
task (started in the app's lifespan) puts each tick into one ``asyncio.Queue``
per connected client, and each client's generator awaits its queue and yields
a ``ServerSentEvent``.

Contract (shared by all peers in bench/peers/):
  PORT (default 8080) on 127.0.0.1, RATE ticks per second (float, default 10).
  GET /api/events (query string ignored) -> text/event-stream of live ticks:
    id: <seq>
    data: {"seq":<seq>,"value":<value>,"at_ms":<at_ms>}

What sse-starlette does by itself (defaults kept):
- Lines end in CRLF (its default separator is "\\r\\n").
- A ping comment ``: ping - <UTC time>`` every 15 s per stream (its own task).
- Each stream runs four tasks (sender, ping, shutdown watcher, disconnect
  listener) in an anyio task group.
- Cache-Control defaults to ``no-store``; we pass ``no-cache`` through the
  ``headers`` argument, as the README's own example does. It also adds
  ``Connection: keep-alive`` and ``X-Accel-Buffering: no``; Starlette makes the
  content type ``text/event-stream; charset=utf-8``.
- No history and no resume: sse-starlette keeps no backlog and ignores
  Last-Event-ID (it is left to the app, and this peer keeps no history).

Per-client queue: naive users write an unbounded ``asyncio.Queue()``; we bound
it to 1024 events like the library's broadcasting example bounds its queues,
and a client whose queue is full is dropped (its stream ends) rather than
growing without limit.

SIGTERM: no handler of our own. uvicorn's default handler starts a graceful
shutdown; sse-starlette hooks it (AppStatus) and, within its 0.5 s poll, ends
every open stream cleanly (the closing empty chunk is sent, so clients see a
normal end of stream), then uvicorn closes the connections, runs the lifespan
shutdown (cancelling the ticker) and the process exits 0.
"""

import asyncio
import contextlib
import json
import os
import random
import time

import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.routing import Route

PORT = int(os.environ.get("PORT", "8080"))
RATE = float(os.environ.get("RATE", "10"))
if not RATE > 0:
    raise SystemExit(f"RATE must be > 0, got {RATE!r}")

QUEUE_SIZE = 1024

# One bounded queue per connected client; the ticker fans each event out.
clients: set[asyncio.Queue] = set()
_DROPPED = None  # sentinel put into a full client's queue: end its stream


async def ticker() -> None:
    """One timer of period max(1 ms, 1/RATE); each wake-up emits every tick due
    by elapsed monotonic time x RATE, so high rates are met on average."""
    period = max(0.001, 1.0 / RATE)
    start = time.monotonic()
    seq = 0
    value = 100.0
    while True:
        await asyncio.sleep(period)
        due = int((time.monotonic() - start) * RATE)
        while seq < due:
            seq += 1
            value = max(1.0, round(value + random.uniform(-1.0, 1.0), 2))
            at_ms = time.time_ns() // 1_000_000  # wall clock
            data = json.dumps(
                {"seq": seq, "value": value, "at_ms": at_ms}, separators=(",", ":")
            )
            event = ServerSentEvent(data=data, id=str(seq))
            for queue in list(clients):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    # Too slow: drop this client instead of buffering more.
                    clients.discard(queue)
                    while not queue.empty():
                        queue.get_nowait()
                    queue.put_nowait(_DROPPED)


async def client_stream():
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
    clients.add(queue)
    try:
        while True:
            event = await queue.get()
            if event is _DROPPED:
                return
            yield event
    finally:
        # Runs when the client disconnects (sse-starlette cancels the generator).
        clients.discard(queue)


async def events(request):
    return EventSourceResponse(client_stream(), headers={"Cache-Control": "no-cache"})


@contextlib.asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(ticker())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


app = Starlette(routes=[Route("/api/events", events)], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", backlog=4096)
