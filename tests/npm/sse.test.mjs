// tidings-server's streams read by peers from another ecosystem: the npm `eventsource-parser`
// on captured bytes, and the npm `eventsource` client end to end. Run by `cargo xtask test`
// against a tidings-server in test mode named by TIDINGS_SERVER.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { EventSource } from "eventsource";

const server = process.env.TIDINGS_SERVER;
if (!server) {
  throw new Error("TIDINGS_SERVER is not set: run these through `cargo xtask test`");
}
const ID = /^\d+-\d+$/;

/**
 * Reads `path` until `enough(events)` is true; returns the parsed events and retry values.
 * `onEvent` sees each event as it is parsed (to act once the stream is open, at its `hello`).
 */
async function capture(path, enough, { timeoutMs = 10_000, onEvent = () => {} } = {}) {
  const events = [];
  const retries = [];
  const errors = [];
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      onEvent(event);
    },
    onRetry: (retry) => retries.push(retry),
    onError: (error) => errors.push(error),
  });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetch(`${server}${path}`, { signal: abort.signal });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (enough(events)) break;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  assert.deepEqual(errors, [], "the parser found nothing malformed");
  return { events, retries };
}

async function post(path, body) {
  const response = await fetch(`${server}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response;
}

const messages = (events) => events.filter((event) => event.event === undefined);

test("eventsource-parser: hello first, a retry hint, then ticks with ids", async () => {
  const { events, retries } = await capture("/api/events?topics=ticker", (events) => messages(events).length >= 3);
  assert.equal(events[0].event, "hello");
  assert.equal(events[0].id, undefined, "hello carries no id");
  const hello = JSON.parse(events[0].data);
  assert.ok(hello.epoch > 0 && hello.heartbeat_ms > 0 && /^[0-9a-f]{32}$/.test(hello.stream_key));
  assert.ok(retries.length >= 1 && retries[0] > 0, "a retry hint");
  const ticks = messages(events);
  let previous = -1;
  for (const tick of ticks) {
    assert.match(tick.id, ID);
    const data = JSON.parse(tick.data);
    assert.ok(data.seq > previous, "ticks count up");
    previous = data.seq;
    assert.equal(typeof data.value, "number");
  }
});

test("eventsource-parser: text with every kind of line end and odd characters survives", async () => {
  const text = "line one\r\nline two\rline three\nend: with colon\n\n  two spaces, ünïcødé ✓, \"quotes\" <b>html</b>";
  let opened;
  const open = new Promise((resolve) => (opened = resolve));
  const capturing = capture("/api/events?topics=comments", (events) => events.some((event) => event.event === "comment"), {
    onEvent: (event) => event.event === "hello" && opened(),
  });
  // The stream is subscribed once its `hello` arrives.
  await open;
  const response = await post("/api/comments", { author: "npm", text });
  assert.equal(response.status, 201);
  const { events } = await capturing;
  const comment = JSON.parse(events.find((event) => event.event === "comment").data);
  assert.equal(comment.text, text.trim());
  assert.equal(comment.author, "npm");
});

test("eventsource client: named events, reconnect after a drop, resume by Last-Event-ID without gap or duplicate", async () => {
  const sentIds = [];
  const source = new EventSource(`${server}/api/events?topics=comments`, {
    fetch: (url, init) => {
      sentIds.push(init?.headers?.["Last-Event-ID"] ?? null);
      return fetch(url, init);
    },
  });
  const received = [];
  let opened = 0;
  let failed = 0;
  source.addEventListener("open", () => opened++);
  source.addEventListener("error", () => failed++);
  source.addEventListener("comment", (event) => received.push({ id: event.lastEventId, comment: JSON.parse(event.data) }));
  const until = async (what, check) => {
    const start = Date.now();
    while (!check()) {
      assert.ok(Date.now() - start < 10_000, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    await until("the first open", () => opened === 1);
    assert.equal((await post("/api/comments", { author: "npm", text: "before the drop" })).status, 201);
    await until("the first comment", () => received.length === 1);

    // The server drops every stream; a comment is posted while the client is away.
    const dropped = await fetch(`${server}/test/drop-all`, { method: "POST" });
    assert.equal(dropped.status, 204);
    await until("the client to notice", () => failed >= 1);
    assert.equal((await post("/api/comments", { author: "npm", text: "while away" })).status, 201);
    await until("the reconnect", () => opened === 2);
    assert.equal((await post("/api/comments", { author: "npm", text: "after" })).status, 201);
    // Any duplicate of the first three would come before a fourth comment: the server sends in
    // id order, replay first.
    assert.equal((await post("/api/comments", { author: "npm", text: "last" })).status, 201);
    await until("the last comment", () => received.some((event) => event.comment.text === "last"));

    assert.deepEqual(received.map((event) => event.comment.text), ["before the drop", "while away", "after", "last"]);
    assert.equal(sentIds[1], received[0].id, "the reconnect sent the last id it had");
    for (const event of received) assert.match(event.id, ID);
    const seqs = received.map((event) => Number(event.id.split("-")[1]));
    assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2] && seqs[2] < seqs[3], "ids increase");
  } finally {
    source.close();
  }
});
