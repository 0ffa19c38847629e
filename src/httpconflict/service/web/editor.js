// The httpconflict web editor: browse a collection, edit a document, never lose a keystroke.
// This file holds the open document; kept.js where its unsaved edits are stored (one
// entry per tab); json.js the JSON helpers, answers.js what an answer
// means and when to retry, auth.js the token a service may ask for (and the one fetch
// wrapper), feed.js others' changes as they happen, fields.js the fields and raw JSON on the
// page, live.js others' changes as the open document shows them, version.js the version line,
// conflicts.js the conflict view, browse.js collections, recreate.js a document deleted
// elsewhere made again from the page's copy.
//
// Theory of operation. For the open document the page keeps three things:
//   server  - the newest version seen (ETag + body), from a GET or a save's answer;
//   base    - the version the user's unsaved edits were made on (sent as If-Match);
//   pending - those edits, per top-level field: {v: value} or {d: true} (removed).
// The pending edits and their base live in localStorage until the server confirms them
// with a 2xx, so a reload or a network error in between loses nothing: on load they are
// re-applied and sent again. A save is a JSON merge patch (RFC 7396) of the pending
// fields with If-Match: base and "Prefer: rebase", asking the server to merge a stale one
// into its current version when it touches other fields (200 + Rebased-From); one that
// touches a field changed since base is a 409 merge-conflict, which the page shows side by
// side until the user chooses. A 412 says the server no longer knows base: the page merges
// itself against the base it stored (rebaseKept, conflicts.js), as it does edits typed
// while a save was in flight when that save comes back merged with others' changes. Until
// the choice base stays, so edits kept across a reload or in another tab are asked about
// again, never saved over a version they were not made on. Each save carries an
// Idempotency-Key, and a save that got no answer (or a 5xx) is sent again unchanged, key
// and all, until one comes: a save whose
// answer was lost is then answered from its key instead of being applied twice, or taken
// for someone else's change. At most one save is in flight; edits made meanwhile wait.
// Only "no answer" and 5xx are retried (after the server's Retry-After when it sends one):
// a 4xx is the server's decision about that request, so it is shown, not sent again.
// The change feed (feed.js) says when the document changed: a change whose ETag is not the
// one the page has is read (If-None-Match), and shows in every field with no unsaved edit,
// the focused one included (fields.js); base only moves to a version read so when the page
// shows all of it, so an edit is never sent against a version whose change the user did
// not see. Nothing is sent while nothing changes.
"use strict";

const DEBOUNCE_MS = 600;
const KEEPALIVE_MAX = 60_000; // characters; fetch's keepalive allows 64 KiB

const $ = (id) => document.getElementById(id);

const show = (v) => JSON.stringify(v, null, 2);
const DELETED = "This document was deleted; your changes are kept in this browser";
const GONE = "This document was deleted elsewhere; what it held is still shown below";

// ---- save state (the aria-live region) ------------------------------------------------

function setState(state, text) {
  const region = $("save-state");
  if (region.dataset.state === state && region.textContent === text) return;
  region.dataset.state = state;
  region.textContent = text;
}

// ---- the open document ----------------------------------------------------------------

let doc = null; // {collection, id, url, server, base, pending, inflight, conflict, ...}
let generation = 0; // moves on whenever the page leaves what it showed; stale loops stop
let showing = null; // aborted when the page leaves the document it shows or opens

// Send what waits for the debounce now (leaving the document or the page, Ctrl+S). A save
// in flight, a conflict or a refusal holds it back as always; Ctrl+S (`again`) sends a
// refused edit once more, as a new edit would.
function flush(current, again = false) {
  if (!current || current.stopped) return;
  if (again && current.error && Object.keys(current.pending).length) current.error = null;
  clearTimeout(current.timer);
  current.timer = null;
  if (current.retrying) return; // its retry is due by itself; a new request would not help
  save();
}

function hasUnsaved(current = doc) { return Object.keys(current.pending).length > 0 || current.inflight !== null; }

// What the page shows: the newest server version with the user's unsaved edits on top.
function viewDoc() {
  return applyPending(applyPending(doc.server.body, doc.inflight || {}), doc.pending);
}

async function openDocument(collection, id) {
  stopDocument();
  const url = `/v1/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`;
  $("browse").hidden = true;
  $("editor").hidden = false;
  $("editor-heading").textContent = `${collection} / ${id}`;
  $("document-body").hidden = true;
  setState("loading", "Loading…");
  $("other-tabs").hidden = true;
  const opened = generation;
  await claimTab();
  if (opened !== generation) return;
  const leaving = new AbortController();
  showing = leaving;
  holdShowing(url, leaving.signal); // kept.js: other tabs leave this tab's edits of it alone
  let server;
  let deleted = false;
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    const answer = await call(url);
    if (opened !== generation) return;
    const { response, body } = answer;
    if (response && response.ok) {
      server = versionOf(response, body);
      break;
    }
    // Deleted under edits kept in this browser: they are shown on the version they were
    // made on, to be recreated (recreate.js) or discarded.
    const kept = response && response.status === 404 ? await keptEdits(url, null) : null;
    if (opened !== generation) return;
    if (kept) {
      server = kept.base;
      deleted = true;
      break;
    }
    if (!unanswered(answer)) {
      if (response.status === 404) setState("error", "No such document");
      else if (response.status === 403) setState("error", forbidden("read"));
      else setState("error", `Cannot open this document: ${refusal(answer)}`);
      return;
    }
    setState("offline", retryingText(answer));
    await sleep(retryWait(answer, backoff));
    if (opened !== generation) return;
  }
  const stored = await keptEdits(url, server);
  if (opened !== generation) return;
  // Deleted, a request kept unanswered is only edits now: sent again, it would be refused.
  if (deleted && stored && stored.request) Object.assign(stored, { pending: { ...stored.request.fields, ...stored.pending }, request: null });
  doc = {
    collection, id, url, server, storedBase: null, rawTimer: null,
    base: stored ? stored.base : server,
    pending: stored ? stored.pending : {},
    request: stored && stored.request ? stored.request : null,
    inflight: stored && stored.request ? stored.request.fields : null,
    sending: false, conflict: null, timer: null, retryTimer: null,
    backoff: RETRY_MIN_MS, saveCount: 0, rawShown: null, rawDraft: null, rawUnfolded: false,
    error: deleted ? DELETED : null, retrying: null, numbers: new Map(), asked: new Set(), recreating: null,
    newest: null, reading: false, stale: false, outlived: new Set(), leaving, dropped: null,
  };
  $("field-list").replaceChildren(); // another document's rows, drafts and notes go
  clearNotes($("editor"));
  render();
  $("document-body").hidden = false;
  if (hasUnsaved() && !deleted) save(); // edits a reload interrupted: send them again now
  else showState();
  const current = doc;
  watchDocument(collection, id, {
    change: (change) => changedElsewhere(current, change),
    ready: () => readChanged(current),
    state: (text) => showLive(current, text),
  });
  lookAtOtherTabs(current);
}

function stopDocument() {
  generation += 1;
  if (showing) showing.abort();
  showing = null;
  if (!doc) return;
  if (doc.timer) flush(doc); // leaving within the debounce: the edits go now, not on return
  clearTimeout(doc.timer);
  clearTimeout(doc.retryTimer);
  clearTimeout(doc.rawTimer);
  unwatchDocument();
  showLive(doc, "");
  doc.stopped = true;
  doc = null;
}

function showState() {
  if (signingIn()) setState("signin", "Sign in to continue"); // the requests wait for a token
  else if (doc.retrying) setState("offline", doc.retrying);
  else if (doc.conflict) setState("conflict", doc.conflict.recreated ? RECREATED_ELSEWHERE : "Conflict: choose a value below");
  else if (doc.error) setState("error", doc.error);
  else if (doc.inflight) setState("saving", "Saving…");
  else if (Object.keys(doc.pending).length) setState("pending", "Unsaved changes");
  else if (draftText()) setState("pending", draftText());
  else setState("saved", "All changes saved");
  $("discard").hidden = !((doc.error && hasUnsaved()) || draftText());
  $("recreate-block").hidden = !isDeleted(doc) || Boolean(doc.recreating);
}

// ---- editing ----------------------------------------------------------------------------

function edit(changes) {
  if (Object.keys(changes).length === 0) return;
  for (const [name, entry] of Object.entries(changes)) put(doc.pending, name, entry);
  persist();
  doc.error = null;
  showState();
  render();
  clearTimeout(doc.timer);
  doc.timer = setTimeout(() => { doc && (doc.timer = null); save(); }, DEBOUNCE_MS);
}

function fieldInputChanged(event) {
  const input = event.target;
  const name = input.dataset.field;
  if (name === undefined) return;
  const row = input.closest(".field");
  clearNotes(row);
  clearNotes($("fields"), ["removed"]);
  if (isDraft(input)) { // kept as typed, and said to be unsaved, until it is a number
    note(row, "invalid", inexactNumber(input.valueAsNumber) ? `Not saved: ${INEXACT}.` : "Not a number: not saved.");
    showState();
    return;
  }
  let value;
  if (input.type === "checkbox") value = input.checked;
  else if (input.type === "number") value = input.valueAsNumber;
  else value = input.value;
  edit({ [name]: { v: value } });
}

function rawChanged() {
  clearNotes($("raw-block"));
  const parsed = rawParsed($("raw-json").value);
  doc.rawDraft = parsed.error || null;
  $("raw-error").textContent = parsed.error || "";
  if (parsed.error) { showState(); return; }
  // Only what the user changed in the text counts, not what others changed meanwhile.
  const changes = topLevelChanges(doc.rawShown, parsed.value);
  // A changed field holding a number past 2^53 would be saved as the browser read it.
  const inexact = Object.keys(changes).find((name) => inexactNumber(changes[name].v));
  if (inexact !== undefined) {
    doc.rawDraft = `Not saved: ${fieldLabel(inexact)}: ${INEXACT}.`;
    $("raw-error").textContent = doc.rawDraft;
    showState();
    return;
  }
  doc.rawShown = parsed.value;
  edit(changes);
  showState();
}

// The raw JSON's text as a document: {value} or {error} saying why it is none.
function rawParsed(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `Not valid JSON yet: ${error.message}` };
  }
  if (!isObject(value)) return { error: "A document is a JSON object ({…})." };
  if (nonFiniteNumber(value)) return { error: "A number is too large for JSON (it would be saved as null)." };
  return { value };
}

// The name is taken as typed, spaces included: a field name is any JSON string. (An empty
// name is one too, but an empty box more likely means nothing was typed yet: the raw JSON
// adds that one.)
function addField(event) {
  event.preventDefault();
  if (!doc) return;
  const name = $("new-field-name").value;
  const message = $("add-field-error");
  if (name === "") {
    message.textContent = "Type a name for the new field (a field named \"\" is added in the raw JSON).";
    return;
  }
  if (has(viewDoc(), name)) {
    message.textContent = `There is already a field ${JSON.stringify(name)}.`;
    fieldInput(name)?.focus();
    return;
  }
  message.textContent = "";
  const type = $("new-field-type").value;
  const value = type === "number" ? 0 : type === "boolean" ? false : "";
  $("new-field-name").value = "";
  edit({ [name]: { v: value } });
  fieldInput(name)?.focus();
}

// ---- saving -----------------------------------------------------------------------------

function patchOf(pending, base = doc.base) {
  const patch = {};
  for (const [k, entry] of Object.entries(pending)) {
    const before = get(base.body, k);
    if (entry.d) put(patch, k, null);
    else if (isObject(entry.v) && isObject(before)) put(patch, k, mergeDiff(before, entry.v));
    else put(patch, k, entry.v);
  }
  return patch;
}

async function save() {
  const current = doc;
  if (!current || current.sending || current.conflict || current.error || current.recreating) return;
  if (!current.request) {
    if (Object.keys(current.pending).length === 0) { showState(); return; }
    // A new save: its own Idempotency-Key, kept until an answer says what became of it.
    current.inflight = current.pending;
    current.pending = {};
    current.request = {
      etag: current.base.etag,
      body: JSON.stringify(patchOf(current.inflight)),
      key: newId(),
      fields: current.inflight,
    };
    persist(current);
  }
  clearTimeout(current.retryTimer);
  current.sending = true;
  current.saveCount += 1;
  showState();
  const request = current.request;
  const answer = await sendPatch(current.url, request);
  current.sending = false;
  // Not merged, so the version after its base's (a replay does not repeat Rebased-From).
  const merged = answer.response && (answer.response.headers.has("Rebased-From") || answer.response.headers.has("Idempotent-Replayed"));
  if (current.stopped) { // the page left: the answer is that document's, not the open one's
    if (answer.response && answer.response.ok) forgetSent(current, request, versionOf(answer.response, answer.body), merged);
    return;
  }
  const { response, body } = answer;
  // Discarded while in flight: whatever the answer, never sent again, nor kept, nor asked.
  const dropped = current.dropped === request;
  if (dropped) current.dropped = null;
  const inFlightElsewhere = response && response.status === 409 && problemType(answer).endsWith("/idempotency-key-in-flight");
  if (!dropped && (unanswered(answer) || inFlightElsewhere)) {
    // No answer that says what became of the save: send the very same request again.
    current.retrying = inFlightElsewhere ? null : retryingText(answer);
    persist(current);
    showState();
    const wait = retryWait(answer, current.backoff);
    current.backoff = Math.min(current.backoff * 2, RETRY_MAX_MS);
    current.retryTimer = setTimeout(save, wait);
    return;
  }
  const sent = dropped ? {} : current.inflight;
  current.inflight = null;
  current.request = null;
  // Until a 2xx, the sent edits are unsaved again (edits typed since win over them).
  if (!dropped && !response.ok) current.pending = { ...sent, ...current.pending };
  current.retrying = null;
  current.backoff = RETRY_MIN_MS;
  const conflicts = isObject(body) ? get(body, "conflicts") : undefined;
  if (dropped && !(response && response.ok)) {
    // Refused, or no answer to say whether it was applied: the page shows what is stored.
    const shown = current.server.body; // what edits typed since the discard were made on
    current.sending = true;
    if (await readAgain(current)) rebaseKept(current, shown);
    else if (current.error === DELETED && !hasUnsaved(current)) current.error = GONE;
    current.sending = false;
    if (current.stopped) return;
  } else if (response.ok) {
    const shown = applyPending(current.server.body, sent); // what the edits typed meanwhile saw
    current.server = versionOf(response, body);
    const before = current.numbers.get(request.etag);
    if (!merged && before) knowNumber(current, current.server.etag, before + 1);
    rebaseKept(current, shown);
  } else if (response.status === 409 && Array.isArray(conflicts) && get(body, "current_etag")) {
    current.conflict = { conflicts, currentEtag: get(body, "current_etag"), choices: {} };
  } else if (response.status === 412) {
    // The base left the history: merged by the page onto the current version, or asked.
    current.sending = true; // edits typed meanwhile wait for this read
    if (await readAgain(current)) rebaseKept(current, current.base.guessed ? null : current.base.body);
    current.sending = false;
    if (current.stopped) return;
  } else if (response.status === 404) {
    current.error = DELETED;
  } else if (response.status === 403) {
    current.error = `${forbidden("write to")}: not saved; your changes are kept in this browser`;
  } else {
    current.error = `Not saved: ${refusal(answer)}`;
  }
  persist(current);
  render();
  renderConflicts();
  showState();
  // A change that came while the save was in flight, unless it was this very save.
  if (current.stale && current.newest !== current.server.etag) readChanged(current);
  current.stale = false;
  if (Object.keys(current.pending).length && !current.timer) save();
  else lookAtOtherTabs(current);
}

// A save's request: a JSON merge patch with If-Match its base, asking for a merge when
// stale, under its Idempotency-Key.
function sendPatch(url, request) {
  return call(url, {
    method: "PATCH",
    headers: {
      "Content-Type": "application/merge-patch+json",
      "If-Match": request.etag,
      "Prefer": "rebase",
      "Idempotency-Key": request.key,
    },
    body: request.body,
    // A save sent as the page goes away still reaches the server (fetch's keepalive is
    // limited to 64 KiB of body in flight).
    keepalive: request.body.length < KEEPALIVE_MAX,
  });
}

// Read the document again (after a 412, or before resolving a conflict): sent again while
// there is no answer; false, with the refusal in current.error, when the server refuses.
async function readAgain(current) {
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    const answer = await call(current.url);
    if (current.stopped) return false;
    const { response, body } = answer;
    if (response && response.ok) {
      current.server = versionOf(response, body);
      current.retrying = null;
      return true;
    }
    if (!unanswered(answer)) {
      current.retrying = null;
      if (response.status === 404) current.error = DELETED;
      else if (response.status === 403) current.error = forbidden("read");
      else current.error = `Cannot read this document: ${refusal(answer)}`;
      return false;
    }
    current.retrying = retryingText(answer);
    showState();
    await sleep(retryWait(answer, backoff));
    if (current.stopped) return false;
  }
}

// The unsaved edits go, the save in flight's too: if the server applies it, the page shows
// that as any change; if it refuses it, its edits are not kept, asked or sent again. A save
// waiting to be sent again after no answer is not sent; the document is read instead.
function discard() {
  const unknown = doc.request && !doc.sending && !isDeleted(doc); // perhaps applied, answer lost
  if (doc.request && doc.sending) doc.dropped = doc.request;
  clearTimeout(doc.retryTimer);
  doc.pending = {};
  doc.retrying = null;
  doc.inflight = null;
  doc.request = null;
  doc.error = isDeleted(doc) ? GONE : null;
  discardDrafts();
  doc.base = doc.server;
  persist();
  render();
  showState();
  if (unknown) readChanged(doc);
  lookAtOtherTabs(doc);
}

function focusLeft(event) {
  clearNotes(event.target.closest(".field, #raw-block") || $("fields"), ["changed", "raw-changed"]);
  if (!doc) return;
  setTimeout(() => { if (doc) { render(); maybeAdvanceBase(doc); } }, 0);
}

function route() {
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch (error) { // a malformed %-escape typed into the address bar
    parts = [];
  }
  if (parts.length >= 2) openDocument(parts[0], parts[1]);
  else if (parts.length === 1) openCollection(parts[0]);
  else {
    stopDocument();
    $("editor").hidden = true;
    $("browse").hidden = false;
    $("collection").hidden = true;
    setState("idle", "No document open");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("open-collection").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("collection-name").value.trim();
    if (name) location.hash = `#/${encodeURIComponent(name)}`;
  });
  $("create-document").addEventListener("submit", createDocument);
  $("fields").addEventListener("input", fieldInputChanged);
  $("fields").addEventListener("submit", (event) => event.preventDefault());
  $("fields").addEventListener("focusout", focusLeft);
  $("raw-json").addEventListener("input", rawChanged);
  $("raw-json").addEventListener("blur", focusLeft);
  $("raw-json").addEventListener("focus", () => { if (doc && doc.rawTimer) renderRaw(viewDoc(), true); });
  $("add-field").addEventListener("submit", addField);
  $("discard").addEventListener("click", discard);
  $("recreate").addEventListener("click", recreate);
  $("show-raw").addEventListener("click", unfoldRaw);
  // Ctrl+S (Cmd+S) saves now instead of the browser's "Save page as"; twice is one save.
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "s") return;
    event.preventDefault();
    if (doc) flush(doc, true);
  });
  // Hidden or left (another tab, another page, the tab closed): the edits go now.
  document.addEventListener("visibilitychange", () => { if (document.hidden && doc && doc.timer) flush(doc); });
  window.addEventListener("pagehide", () => { if (doc && doc.timer) flush(doc); });
  // Back online: retry now rather than at the end of the back-off.
  window.addEventListener("online", () => { if (doc && doc.retrying) save(); });
  window.addEventListener("hashchange", route);
  route();
});
