// The httpconflict web editor: browse a collection, edit a document, never lose a keystroke.
//
// Theory of operation. For the open document the page keeps three things:
//   server  - the newest version seen (ETag + body), from a GET, a poll or a save's answer;
//   base    - the version the user's unsaved edits were made on (sent as If-Match);
//   pending - those edits, per top-level field: {v: value} or {d: true} (removed).
// The pending edits and their base live in localStorage until the server confirms them
// with a 2xx, so a reload or a network error in between loses nothing: on load they are
// re-applied and sent again. A save is a JSON merge patch (RFC 7396) of the pending
// fields with If-Match: base and "Prefer: rebase", asking the server to merge a stale one
// into its current version when it touches other fields (200 + Rebased-From); one that
// touches a field changed since base is a 409 merge-conflict, which the page shows side by
// side until the user chooses. Each save carries an Idempotency-Key, and a save that got no
// answer (or a 5xx) is sent again unchanged, key and all, until one comes: a save whose
// answer was lost is then answered from its key instead of being applied twice, or taken
// for someone else's change. At most one save is in flight; edits made meanwhile wait.
// Only "no answer" and 5xx are retried (after the server's Retry-After when it sends one):
// a 4xx is the server's decision about that request, so it is shown, not sent again.
// Creating a document works the same way: one Idempotency-Key until an answer comes.
// Polling (If-None-Match, 304 when unchanged) shows others' changes in every field the
// user is not editing; base only moves to a polled version when the page shows all of
// it, so an edit is never sent against a version whose change the user did not see.
"use strict";

const DEBOUNCE_MS = 600;
const POLL_MS = 1000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 4000;
const RETRY_AFTER_MAX_MS = 60_000;
const STORE_PREFIX = "httpconflict.pending:";

const $ = (id) => document.getElementById(id);

const show = (v) => JSON.stringify(v, null, 2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const DELETED = "This document was deleted; your changes are kept in this browser";

// ---- answers ----------------------------------------------------------------------------

// One request that never throws: {response, body}. response is null when no answer came
// (a network error, or a 2xx whose body was cut off); body is the parsed JSON, or null.
async function call(url, init = {}) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store", ...init });
  } catch (error) {
    return { response: null, body: null };
  }
  try {
    return { response, body: await response.json() };
  } catch (error) {
    // A refusal that is not JSON still says what it is by its status; a 2xx must be read.
    const unread = response.ok && response.status !== 204;
    return { response: unread ? null : response, body: null };
  }
}

// Worth sending again as it is: there was no answer, or the server could not decide (5xx).
const unanswered = (answer) => answer.response === null || answer.response.status >= 500;

function retryingText(answer) {
  if (answer.response === null) return "Offline, retrying";
  return `Server unavailable (${answer.response.status}), retrying`;
}

// RFC 9110 §10.2.3: Retry-After in seconds, when given; else the back-off with jitter.
function retryWait(answer, backoff) {
  const header = answer.response && answer.response.headers.get("Retry-After");
  if (header && /^\s*\d+\s*$/.test(header)) return Math.min(Number(header) * 1000, RETRY_AFTER_MAX_MS);
  return backoff * (0.75 + Math.random() / 2);
}

// A refusal as the user reads it: the problem's title and detail (RFC 9457), or the status.
function refusal(answer) {
  const problem = isObject(answer.body) ? answer.body : {};
  const title = get(problem, "title");
  const detail = get(problem, "detail");
  const text = typeof title === "string" && title ? title : `HTTP ${answer.response.status}`;
  return typeof detail === "string" && detail ? `${text} (${detail})` : text;
}

const problemType = (answer) => String(isObject(answer.body) ? get(answer.body, "type") : "");

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

function storeKey(url) { return STORE_PREFIX + url; }

function persist() {
  const key = storeKey(doc.url);
  if (Object.keys(doc.pending).length === 0 && !doc.inflight) {
    localStorage.removeItem(key);
  } else {
    // The unanswered save stays stored as it was sent (key and all): after a reload it is
    // sent again first, so that if it was applied its answer is replayed.
    localStorage.setItem(key, JSON.stringify({ base: doc.base, pending: doc.pending, request: doc.request }));
  }
}

function hasUnsaved() { return Object.keys(doc.pending).length > 0 || doc.inflight !== null; }

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
  setState("loading", "Loading…");
  const stored = JSON.parse(localStorage.getItem(storeKey(url)) || "null");
  const opened = generation;
  let server;
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    const answer = await call(url);
    if (opened !== generation) return;
    const { response, body } = answer;
    if (response && response.ok) {
      server = { etag: response.headers.get("ETag"), body };
      break;
    }
    if (!unanswered(answer)) {
      if (response.status === 404) setState("error", stored ? DELETED : "No such document");
      else setState("error", `Cannot open this document: ${refusal(answer)}`);
      return;
    }
    setState("offline", retryingText(answer));
    await sleep(retryWait(answer, backoff));
    if (opened !== generation) return;
  }
  doc = {
    collection, id, url, server,
    base: stored ? stored.base : server,
    pending: stored ? stored.pending : {},
    request: stored && stored.request ? stored.request : null,
    inflight: stored && stored.request ? stored.request.fields : null,
    sending: false, conflict: null, timer: null, retryTimer: null,
    backoff: RETRY_MIN_MS, saveCount: 0, pollTimer: null, rawShown: null, error: null,
    retrying: null,
  };
  render();
  if (hasUnsaved()) save(); // edits a reload interrupted: send them again now
  else showState();
  doc.pollTimer = setTimeout(poll, POLL_MS);
}

function stopDocument() {
  generation += 1;
  if (!doc) return;
  clearTimeout(doc.timer);
  clearTimeout(doc.retryTimer);
  clearTimeout(doc.pollTimer);
  doc.stopped = true;
  doc = null;
}

function showState() {
  if (doc.retrying) setState("offline", doc.retrying);
  else if (doc.conflict) setState("conflict", "Conflict: choose a value below");
  else if (doc.error) setState("error", doc.error);
  else if (doc.inflight) setState("saving", "Saving…");
  else if (Object.keys(doc.pending).length) setState("pending", "Unsaved changes");
  else setState("saved", "All changes saved");
  $("discard").hidden = !(doc.error && hasUnsaved());
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
  let value;
  if (input.type === "checkbox") value = input.checked;
  else if (input.type === "number") {
    if (input.value.trim() === "" || !Number.isFinite(input.valueAsNumber)) return;
    value = input.valueAsNumber;
  } else value = input.value;
  edit({ [name]: { v: value } });
}

function rawChanged() {
  const area = $("raw-json");
  let parsed;
  try {
    parsed = JSON.parse(area.value);
  } catch (error) {
    $("raw-error").textContent = `Not valid JSON yet: ${error.message}`;
    return;
  }
  if (!isObject(parsed)) {
    $("raw-error").textContent = "A document is a JSON object ({…}).";
    return;
  }
  if (nonFiniteNumber(parsed)) {
    $("raw-error").textContent = "A number is too large for JSON (it would be saved as null).";
    return;
  }
  $("raw-error").textContent = "";
  // Only what the user changed in the text counts, not what others changed meanwhile.
  const changes = topLevelChanges(doc.rawShown, parsed);
  doc.rawShown = parsed;
  edit(changes);
}

const fieldInput = (name) => $("field-list").querySelector(`[data-field="${CSS.escape(name)}"]`);

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

// ---- rendering --------------------------------------------------------------------------

// One id per name and no two names alike: letters, digits and "-" stay, any other
// character becomes "_<hex code point>_" (so "_" itself never stands for two things).
function fieldId(name) {
  const escaped = Array.from(name, (c) => /[A-Za-z0-9-]/.test(c) ? c : `_${c.codePointAt(0).toString(16)}_`);
  return "field-" + escaped.join("");
}

function render() {
  const view = viewDoc();
  const list = $("field-list");
  const shape = JSON.stringify(Object.entries(view).map(([k, v]) => [k, typeof v, v === null]));
  if (list.dataset.shape !== shape) {
    const focused = document.activeElement && document.activeElement.id;
    list.replaceChildren(...Object.keys(view).map((k) => fieldRow(k, view[k])));
    list.dataset.shape = shape;
    if (focused && $(focused)) $(focused).focus();
  }
  for (const input of list.querySelectorAll("[data-field]")) {
    const name = input.dataset.field;
    const row = input.closest(".field");
    row.classList.toggle("pending", has(doc.pending, name) || (doc.inflight !== null && has(doc.inflight, name)));
    if (input === document.activeElement) continue; // never overwrite what the user is typing
    const value = get(view, name);
    if (input.type === "checkbox") input.checked = value === true;
    else if (input.tagName === "OUTPUT") input.textContent = JSON.stringify(value);
    else if (input.value !== String(value)) input.value = String(value);
  }
  const area = $("raw-json");
  if (area !== document.activeElement) {
    const text = show(view);
    if (area.value !== text) area.value = text;
    doc.rawShown = view;
    $("raw-error").textContent = "";
  }
  $("document-info").textContent = `Version ${doc.server.etag}`;
}

function fieldRow(name, value) {
  const row = document.createElement("div");
  row.className = "field";
  const label = document.createElement("label");
  const id = fieldId(name);
  label.htmlFor = id;
  label.textContent = fieldLabel(name);
  let input;
  if (typeof value === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
  } else if (typeof value === "number") {
    input = document.createElement("input");
    input.type = "number";
    input.step = "any";
  } else if (typeof value === "string") {
    input = document.createElement("input");
    input.type = "text";
    input.autocomplete = "off";
  } else {
    input = document.createElement("output");
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "Edit this value in the raw JSON below.";
    row.append(label, input, note);
    input.id = id;
    input.dataset.field = name;
    return row;
  }
  input.id = id;
  input.name = name;
  input.dataset.field = name;
  row.append(label, input);
  return row;
}

// ---- saving -----------------------------------------------------------------------------

function patchOf(pending) {
  const patch = {};
  for (const [k, entry] of Object.entries(pending)) {
    const before = get(doc.base.body, k);
    if (entry.d) put(patch, k, null);
    else if (isObject(entry.v) && isObject(before)) put(patch, k, mergeDiff(before, entry.v));
    else put(patch, k, entry.v);
  }
  return patch;
}

async function save() {
  const current = doc;
  if (!current || current.sending || current.conflict || current.error) return;
  if (!current.request) {
    if (Object.keys(current.pending).length === 0) { showState(); return; }
    // A new save: its own Idempotency-Key, kept until an answer says what became of it.
    current.inflight = current.pending;
    current.pending = {};
    current.request = {
      etag: current.base.etag,
      body: JSON.stringify(patchOf(current.inflight)),
      key: crypto.randomUUID(),
      fields: current.inflight,
    };
    persist();
  }
  clearTimeout(current.retryTimer);
  current.sending = true;
  current.saveCount += 1;
  showState();
  const request = current.request;
  const answer = await call(current.url, {
    method: "PATCH",
    headers: {
      "Content-Type": "application/merge-patch+json",
      "If-Match": request.etag,
      "Prefer": "rebase",
      "Idempotency-Key": request.key,
    },
    body: request.body,
  });
  current.sending = false;
  if (current.stopped) return;
  const { response, body } = answer;
  const inFlightElsewhere = response && response.status === 409 && problemType(answer).endsWith("/idempotency-key-in-flight");
  if (unanswered(answer) || inFlightElsewhere) {
    // No answer that says what became of the save: send the very same request again.
    current.retrying = inFlightElsewhere ? null : retryingText(answer);
    persist();
    showState();
    const wait = retryWait(answer, current.backoff);
    current.backoff = Math.min(current.backoff * 2, RETRY_MAX_MS);
    current.retryTimer = setTimeout(save, wait);
    return;
  }
  const sent = current.inflight;
  current.inflight = null;
  current.request = null;
  // Until a 2xx, the sent edits are unsaved again (edits typed since win over them).
  if (!response.ok) current.pending = { ...sent, ...current.pending };
  current.retrying = null;
  current.backoff = RETRY_MIN_MS;
  const conflicts = isObject(body) ? get(body, "conflicts") : undefined;
  if (response.ok) {
    current.server = { etag: response.headers.get("ETag"), body };
    current.base = current.server;
  } else if (response.status === 409 && Array.isArray(conflicts) && get(body, "current_etag")) {
    current.conflict = { conflicts, currentEtag: get(body, "current_etag"), choices: {} };
  } else if (response.status === 412) {
    // The base left the history: start again from the current version, unsaved edits on top.
    current.sending = true; // edits typed meanwhile wait for this read
    if (await readAgain(current)) current.base = current.server;
    current.sending = false;
    if (current.stopped) return;
  } else if (response.status === 404) {
    current.error = DELETED;
  } else {
    current.error = `Not saved: ${refusal(answer)}`;
  }
  persist();
  render();
  renderConflicts();
  showState();
  if (Object.keys(current.pending).length && !current.timer) save();
}

// Read the document again (after a 412, or before resolving a conflict): sent again while
// there is no answer; false, with the refusal in current.error, when the server refuses.
async function readAgain(current) {
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    const answer = await call(current.url);
    if (current.stopped) return false;
    const { response, body } = answer;
    if (response && response.ok) {
      current.server = { etag: response.headers.get("ETag"), body };
      current.retrying = null;
      return true;
    }
    if (!unanswered(answer)) {
      current.retrying = null;
      current.error = response.status === 404 ? DELETED : `Cannot read this document: ${refusal(answer)}`;
      return false;
    }
    current.retrying = retryingText(answer);
    showState();
    await sleep(retryWait(answer, backoff));
    if (current.stopped) return false;
  }
}

function discard() {
  doc.pending = {};
  doc.error = null;
  doc.base = doc.server;
  persist();
  render();
  showState();
}

// ---- live view of others' changes -------------------------------------------------------

async function poll() {
  const current = doc;
  if (!current) return;
  try {
    if (!current.inflight) {
      const etag = current.server.etag;
      const response = await fetch(current.url, { cache: "no-store", headers: { "If-None-Match": etag } });
      // A save that started meanwhile answers with a newer version than this poll's.
      if (response.status === 200 && !current.inflight && current.server.etag === etag && !current.stopped) {
        current.server = { etag: response.headers.get("ETag"), body: await response.json() };
        render();
        maybeAdvanceBase(current);
      }
    }
  } catch (error) { /* unreachable: the next poll tries again */ }
  if (!current.stopped) current.pollTimer = setTimeout(poll, POLL_MS);
}

// With nothing unsaved, the next edit is based on the newest version, unless the field
// being typed in still shows an older value than the server's.
function maybeAdvanceBase(current) {
  if (hasUnsaved() || current.conflict) return;
  const active = document.activeElement;
  if (active === $("raw-json") && !jsonEqual(current.rawShown, current.server.body)) return;
  if (active && active.dataset && active.dataset.field !== undefined) {
    const name = active.dataset.field;
    if (!jsonEqual(current.base.body[name], current.server.body[name])) return;
  }
  current.base = current.server;
}

function focusLeft() {
  if (!doc) return;
  setTimeout(() => { if (doc) { render(); maybeAdvanceBase(doc); } }, 0);
}

// ---- conflicts --------------------------------------------------------------------------

function valueCell(entry, side) {
  const cell = document.createElement("td");
  if (!has(entry, side)) {
    cell.className = "absent";
    cell.textContent = "(absent)";
  } else {
    const code = document.createElement("code");
    code.textContent = JSON.stringify(entry[side]);
    cell.append(code);
  }
  return cell;
}

function renderConflicts() {
  const section = $("conflicts");
  const list = $("conflict-list");
  if (!doc || !doc.conflict) {
    section.hidden = true;
    list.replaceChildren();
    return;
  }
  section.hidden = false;
  list.replaceChildren(...doc.conflict.conflicts.map((entry, index) => {
    const box = document.createElement("div");
    box.className = "conflict";
    box.dataset.pointer = entry.pointer;
    const heading = document.createElement("h4");
    const name = pointerLabel(entry.pointer);
    heading.textContent = `Field ${name}`;
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const title of ["Before (base)", "Theirs (now stored)", "Mine"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      head.append(th);
    }
    const row = table.createTBody().insertRow();
    row.append(valueCell(entry, "base"), valueCell(entry, "current"), valueCell(entry, "requested"));
    const actions = document.createElement("div");
    actions.className = "actions";
    const button = (text, onClick) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.addEventListener("click", onClick);
      return b;
    };
    actions.append(
      button("Keep mine", () => choose(index, has(entry, "requested"), entry.requested)),
      button("Use theirs", () => choose(index, has(entry, "current"), entry.current)),
      button("Edit", () => editChoice(box, index, entry)),
    );
    for (const b of actions.children) b.setAttribute("aria-label", `${b.textContent}: ${name}`);
    box.append(heading, table, actions);
    return box;
  }));
  const first = list.querySelector("button");
  if (first && !section.contains(document.activeElement)) first.focus();
}

function editChoice(box, index, entry) {
  if (box.querySelector("textarea")) return;
  const id = `conflict-edit-${index}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = `Value for ${pointerLabel(entry.pointer)} (JSON)`;
  const area = document.createElement("textarea");
  area.id = id;
  area.rows = 3;
  area.value = JSON.stringify(has(entry, "requested") ? entry.requested : entry.current);
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("aria-live", "polite");
  const use = document.createElement("button");
  use.type = "button";
  use.textContent = "Use this value";
  use.addEventListener("click", () => {
    try {
      choose(index, true, JSON.parse(area.value));
    } catch (e) {
      error.textContent = `Not valid JSON: ${e.message}`;
    }
  });
  box.append(label, area, use, error);
  area.focus();
}

function choose(index, present, value) {
  doc.conflict.choices[index] = { present, value };
  const box = $("conflict-list").children[index];
  for (const b of box.querySelectorAll("button")) b.disabled = true;
  const done = document.createElement("p");
  done.className = "chosen";
  done.textContent = "Chosen: " + (present ? JSON.stringify(value) : "(remove the field)");
  box.append(done);
  if (Object.keys(doc.conflict.choices).length === doc.conflict.conflicts.length) resolve();
}

// All chosen: the chosen values become edits on the version the server named (or newer).
// If that read is refused, they become edits on the version last seen, kept unsaved beside
// the refusal.
async function resolve() {
  const current = doc;
  const { conflicts, choices } = current.conflict;
  setState("saving", "Saving…");
  const read = await readAgain(current);
  if (current.stopped) return;
  let desired = applyPending(current.server.body, current.pending);
  conflicts.forEach((entry, i) => {
    desired = setAtPointer(desired, entry.pointer, choices[i].present, choices[i].value);
  });
  if (read) current.base = current.server;
  current.pending = topLevelChanges(current.server.body, desired);
  current.conflict = null;
  persist();
  renderConflicts();
  render();
  showState();
  $("fields").querySelector("input, output")?.focus();
  save();
}

// ---- browsing ---------------------------------------------------------------------------

async function openCollection(collection) {
  stopDocument();
  $("editor").hidden = true;
  $("browse").hidden = false;
  $("collection-name").value = collection;
  $("browse-error").hidden = true;
  setState("idle", "No document open");
  const list = $("documents");
  list.replaceChildren();
  const opened = generation;
  const answer = await call(`/v1/${encodeURIComponent(collection)}?limit=1000`);
  if (opened !== generation) return;
  const { response, body } = answer;
  if (!response || !response.ok) {
    const why = response ? refusal(answer) : "no answer from the service";
    browseError(`Could not open ${collection}: ${why}`);
    return;
  }
  for (const item of body.items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#/${encodeURIComponent(collection)}/${encodeURIComponent(item.id)}`;
    const title = get(item.document, "title");
    a.textContent = item.id + (typeof title === "string" && title ? ` — ${title}` : "");
    li.append(a);
    list.append(li);
  }
  $("collection-empty").hidden = body.items.length > 0;
  $("collection-heading").textContent = `Documents in ${collection}`;
  $("collection").hidden = false;
}

function browseError(text) {
  $("browse-error").textContent = text;
  $("browse-error").hidden = false;
}

// A create not answered yet: {collection, text, key}. Sent again (or clicked again with the
// same collection and text) it carries the same Idempotency-Key, so a create whose answer
// was lost is answered from its key and makes one document, not two.
let creating = null;

async function createDocument(event) {
  event.preventDefault();
  if (creating && creating.running) return;
  const collection = $("collection-name").value;
  const text = $("new-document").value;
  $("browse-error").hidden = true;
  let parsed;
  try {
    parsed = JSON.parse(text);
    if (!isObject(parsed)) throw new Error("a document is a JSON object");
    if (nonFiniteNumber(parsed)) throw new Error("a number is too large for JSON");
  } catch (error) {
    browseError(`Not created: ${error.message}`);
    return;
  }
  if (!creating || creating.collection !== collection || creating.text !== text) {
    creating = { collection, text, key: crypto.randomUUID() };
  }
  const attempt = creating;
  const opened = generation;
  attempt.running = true;
  let answer;
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    answer = await call(`/v1/${encodeURIComponent(collection)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": attempt.key },
      body: JSON.stringify(parsed),
    });
    const inFlight = answer.response && answer.response.status === 409 &&
      problemType(answer).endsWith("/idempotency-key-in-flight");
    if (opened !== generation || !(unanswered(answer) || inFlight)) break;
    if (inFlight) setState("saving", "Creating…");
    else setState("offline", retryingText(answer));
    await sleep(retryWait(answer, backoff));
    if (opened !== generation) break;
  }
  attempt.running = false;
  if (opened !== generation) return; // the page moved on; a click here again reuses the key
  setState("idle", "No document open");
  creating = null;
  const { response } = answer;
  if (!response.ok) {
    browseError(`Not created: ${refusal(answer)}`);
    return;
  }
  const id = response.headers.get("Location").split("/").pop();
  location.hash = `#/${encodeURIComponent(collection)}/${id}`;
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
  $("add-field").addEventListener("submit", addField);
  $("discard").addEventListener("click", discard);
  // Back online: retry now rather than at the end of the back-off.
  window.addEventListener("online", () => { if (doc && doc.retrying) save(); });
  window.addEventListener("hashchange", route);
  route();
});
