// Others' changes as they happen: the service's change feed, one stream per collection,
// shared by the tabs of this browser that hold the same token.
//
// Theory of operation. The feed is GET /v1/{c}/_changes as Server-Sent Events (one event per
// change: seq, id, version, etag, deleted; heartbeats every 10 s). It is read with fetch() and
// a stream reader rather than EventSource, which cannot send an Authorization header: the
// token stays in a header, never in a URL or a log (auth.js). A stream resumes where it was
// with Last-Event-ID: the last event id it saw, heartbeats included.
//
// A browser opens at most ~6 HTTP/1.1 connections per origin, and a stream holds one for as
// long as it is open: seven tabs each holding their own would stall the seventh tab's
// requests. So the tabs of one token form a group (a Web Lock and a BroadcastChannel named
// after a hash of the token; "anonymous" without one; the token itself never leaves its tab,
// and tabs with other tokens, so other rights, never share). The tab holding the lock leads:
// it opens one stream per collection any tab of the group watches (`?id=` when only one
// document of it is watched) and passes every event on to the others; when it closes, the
// lock goes to another tab, which opens the streams again. Each tab says which document it
// shows ("interest"); the leader answers "ready" once a stream covers it, and the tab then
// reads its document once (If-None-Match, so usually a 304): what changed between its first
// read and the stream's start is caught there, and everything after comes on the stream.
//
// A stream that fails is opened again after the service's Retry-After or a back-off (0.5 s
// doubling to 4 s, with jitter), never in a loop; one silent for 35 s (three heartbeats) is
// taken for dead. Meanwhile the page says that live updates are paused. 401 and 403 stop the
// stream and say why (a new token starts it again); 410 (the feed purged what came after the
// position) starts again from now, the tabs reading their documents once more.
//
// Without Web Locks (not a secure context: plain HTTP to another host than localhost) no lock
// hands the streams on when the leading tab closes, so each tab leads a group of its own, named
// after the tab, and reads its own streams. Nothing is made of the token there: crypto.subtle,
// which hashes it, is only there in a secure context too. Seven such tabs would hold all the
// connections, so a hidden tab there closes its streams, and opens them again when it is shown,
// from the position each had (Last-Event-ID: nothing missed; a 410 starts it from now, the tab
// reading its document again, as anywhere).
"use strict";

const FEED_SILENCE_MS = 35_000;

const feed = {
  tab: newId(),
  group: null, // {name, channel, leading, release, streams: Map(collection -> stream), interests: Map(tab -> [c, id])}
  watching: null, // {collection, id, handlers: {change, ready, state}}
};

// ---- what a tab asks for, and what it is told --------------------------------------------

// Follow the document `id` of `collection`: handlers.change(change) for each of its changes,
// handlers.ready() when a stream covers it (read it once), handlers.state(text) with what to
// say about live updates ("" when they work).
function watchDocument(collection, id, handlers) {
  feed.watching = { collection, id, handlers };
  join().then(() => announce());
}

function unwatchDocument() {
  feed.watching = null;
  announce();
}

// Signed in, out, or as someone else: the tab changes group.
function feedTokenChanged() {
  if (feed.group) leave();
  if (feed.watching) join().then(() => announce());
}

function interest() {
  return feed.watching ? [feed.watching.collection, feed.watching.id] : null;
}

function announce() {
  const group = feed.group;
  if (!group) return;
  const message = { type: "interest", tab: feed.tab, watching: interest() };
  if (group.leading) heard(group, message);
  else group.channel.postMessage(message);
}

// A message from the leader (or from this tab as leader) to the tabs.
function tell(group, message) {
  group.channel.postMessage(message);
  told(message);
}

function told(message) {
  const watching = feed.watching;
  if (!watching || message.collection !== watching.collection) return;
  if (message.tab && message.tab !== feed.tab) return;
  if (message.type === "change" && message.change.id === watching.id) watching.handlers.change(message.change);
  else if (message.type === "ready") watching.handlers.ready();
  else if (message.type === "state") watching.handlers.state(message.text);
}

// ---- the group --------------------------------------------------------------------------

async function groupName() {
  if (!navigator.locks) return `httpconflict.feed:tab:${feed.tab}`;
  const token = storedToken();
  if (token === null) return "httpconflict.feed:anonymous";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return `httpconflict.feed:${hex.slice(0, 32)}`;
}

// Joins run one after another: two at once would make two groups.
function join() {
  feed.joining = (feed.joining || Promise.resolve()).then(joinGroup);
  return feed.joining;
}

async function joinGroup() {
  const name = await groupName();
  if (feed.group && feed.group.name === name) return;
  if (feed.group) leave();
  const group = { name, channel: new BroadcastChannel(name), leading: false, release: null,
                  streams: new Map(), interests: new Map(), hiddenAt: new Map() };
  feed.group = group;
  group.channel.onmessage = (event) => (group.leading ? heard(group, event.data) : told(event.data));
  if (!navigator.locks) { // no Web Locks: this tab, alone in its group, reads its own stream
    lead(group);
    return;
  }
  navigator.locks.request(name, () => new Promise((release) => {
    if (feed.group !== group) { release(); return; }
    group.release = release;
    lead(group);
  }));
}

function leave() {
  const group = feed.group;
  feed.group = null;
  group.channel.postMessage({ type: "interest", tab: feed.tab, watching: null });
  for (const stream of group.streams.values()) closeStream(stream);
  group.channel.close();
  if (group.release) group.release();
}

function lead(group) {
  group.leading = true;
  group.interests.set(feed.tab, interest());
  group.channel.postMessage({ type: "leader" }); // the other tabs say what they watch
  follow(group);
}

// The leader hears what a tab watches (or a new leader asks for it).
function heard(group, message) {
  if (message.type === "leader") { announce(); return; }
  if (message.type !== "interest") return;
  if (message.watching) group.interests.set(message.tab, message.watching);
  else group.interests.delete(message.tab);
  follow(group);
  const stream = message.watching && group.streams.get(message.watching[0]);
  if (stream && stream.covers(message.watching[1])) {
    if (stream.up) tell(group, { type: "ready", collection: stream.collection, tab: message.tab });
    else if (stream.text) tell(group, { type: "state", collection: stream.collection, tab: message.tab, text: stream.text });
  }
}

// One stream per watched collection, filtered to the document when only one is watched.
function follow(group) {
  const hidden = hiddenWithoutLocks();
  const wanted = new Map();
  for (const watching of group.interests.values()) {
    if (!watching || hidden) continue;
    const [collection, id] = watching;
    if (!wanted.has(collection)) wanted.set(collection, new Set());
    wanted.get(collection).add(id);
  }
  for (const [collection, stream] of group.streams) {
    const ids = wanted.get(collection);
    if (ids && [...ids].every((id) => stream.covers(id)) && (ids.size > 1 || stream.only !== null)) continue;
    closeStream(stream);
    group.streams.delete(collection);
    if (ids) group.streams.set(collection, openStream(group, collection, ids, stream.position));
    else if (hidden) { // back in view, it resumes where it stopped
      group.hiddenAt.set(collection, stream.position);
      setStreamState(group, stream, ""); // no "paused" left shown for a stream that was down
    }
  }
  for (const [collection, ids] of wanted) {
    if (group.streams.has(collection)) continue;
    const position = group.hiddenAt.get(collection) ?? null;
    group.streams.set(collection, openStream(group, collection, ids, position));
  }
  if (!hidden) group.hiddenAt.clear();
}

// Without Web Locks each tab reads its own streams, each holding one of the browser's ~6
// connections to the origin: a hidden tab holds none.
function hiddenWithoutLocks() {
  return !navigator.locks && document.visibilityState === "hidden";
}

// ---- one stream (in the leading tab) -----------------------------------------------------

function openStream(group, collection, ids, position) {
  const stream = {
    collection, position,
    only: ids.size === 1 ? [...ids][0] : null,
    up: false, text: "", closed: false, connection: null,
    announce: true, // its first event tells the tabs to read their documents once
    covers(id) { return this.only === null || this.only === id; },
  };
  run(group, stream);
  return stream;
}

function closeStream(stream) {
  stream.closed = true;
  if (stream.connection) stream.connection.abort();
}

function setStreamState(group, stream, text) {
  if (stream.text === text) return;
  stream.text = text;
  tell(group, { type: "state", collection: stream.collection, text });
}

async function run(group, stream) {
  let backoff = RETRY_MIN_MS;
  while (!stream.closed) {
    const ended = await connect(group, stream);
    stream.up = false;
    if (stream.closed) return;
    if (ended.worked) backoff = RETRY_MIN_MS;
    if (ended.stop) { setStreamState(group, stream, ended.text); return; }
    setStreamState(group, stream, ended.text);
    await sleep(retryWait(ended.answer, backoff));
    backoff = Math.min(backoff * 2, RETRY_MAX_MS);
  }
}

// One connection, until it ends: what to say, and whether (and when) to connect again.
async function connect(group, stream) {
  const url = new URL(`/v1/${encodeURIComponent(stream.collection)}/_changes`, location.origin);
  const headers = { Accept: "text/event-stream" };
  if (stream.only !== null) url.searchParams.set("id", stream.only);
  if (stream.position !== null) {
    headers["Last-Event-ID"] = String(stream.position);
    url.searchParams.set("since", String(stream.position));
  }
  const token = storedToken();
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const connection = new AbortController();
  stream.connection = connection;
  const paused = "Live updates paused: reconnecting…";
  let response;
  try {
    response = await fetch(url, { headers, cache: "no-store", signal: connection.signal });
  } catch (error) {
    return { answer: { response: null }, text: paused };
  }
  if (response.status === 410) { // the position is gone: start again from now
    stream.position = null;
    return { answer: { response: null }, text: paused };
  }
  if (!response.ok) {
    const answer = { response, body: await response.json().catch(() => null) };
    if (unanswered(answer) || response.status === 429) return { answer, text: paused };
    const why = response.status === 401 ? "sign in again to resume them"
      : response.status === 403 ? forbidden("read").replace(/^You/, "you") : refusal(answer);
    return { stop: true, text: `Live updates stopped: ${why}` };
  }
  const fresh = stream.announce || stream.position === null;
  stream.announce = false;
  let worked = false;
  let watchdog = null;
  const parser = { buffer: "", event: "", data: [], id: null };
  try {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(), FEED_SILENCE_MS);
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of sseEvents(parser, value)) {
        if (event.id !== null && /^\d+$/.test(event.id)) stream.position = Number(event.id);
        if (!worked) {
          worked = true;
          stream.up = true;
          setStreamState(group, stream, "");
          if (fresh) tell(group, { type: "ready", collection: stream.collection });
        }
        if (event.event === "change") {
          let change;
          try { change = JSON.parse(event.data); } catch (error) { continue; }
          tell(group, { type: "change", collection: stream.collection, change });
        }
      }
    }
  } catch (error) { /* cut off, or closed: connect again unless closed */ }
  clearTimeout(watchdog);
  return { answer: { response: null }, text: paused, worked };
}

// WHATWG HTML §9.2.6: lines end with CRLF, LF or CR; a blank line dispatches the event; an
// event with no data is not dispatched; `id` is kept for the events after it.
function sseEvents(parser, text) {
  parser.buffer += text;
  const events = [];
  let start = 0;
  for (let i = 0; i < parser.buffer.length; i++) {
    const c = parser.buffer[i];
    if (c !== "\n" && c !== "\r") continue;
    if (c === "\r" && i + 1 === parser.buffer.length) break; // maybe half of a CRLF
    const line = parser.buffer.slice(start, i);
    if (c === "\r" && parser.buffer[i + 1] === "\n") i++;
    start = i + 1;
    if (line === "") {
      if (parser.data.length) events.push({ event: parser.event || "message", data: parser.data.join("\n"), id: parser.id });
      parser.event = "";
      parser.data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") parser.event = value;
    else if (name === "data") parser.data.push(value);
    else if (name === "id" && !value.includes("\0")) parser.id = value;
  }
  parser.buffer = parser.buffer.slice(start);
  return events;
}

document.addEventListener("visibilitychange", () => { if (!navigator.locks && feed.group) follow(feed.group); });
window.addEventListener("pagehide", () => { if (feed.group) leave(); });
// Back from the back-forward cache: join again (pagehide left the group).
window.addEventListener("pageshow", (event) => { if (event.persisted && feed.watching) join().then(() => announce()); });
