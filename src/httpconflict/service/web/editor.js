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
// Polling (If-None-Match, 304 when unchanged) shows others' changes in every field the
// user is not editing; base only moves to a polled version when the page shows all of
// it, so an edit is never sent against a version whose change the user did not see.
"use strict";

const DEBOUNCE_MS = 600;
const POLL_MS = 1000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 4000;
const STORE_PREFIX = "httpconflict.pending:";

const $ = (id) => document.getElementById(id);

// ---- JSON helpers -------------------------------------------------------------------

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

// The merge patch that turns `from` into `to` (RFC 7396 §2, inverted).
function mergeDiff(from, to) {
  if (!isObject(from) || !isObject(to)) return to;
  const patch = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const k of Object.keys(to)) {
    if (!(k in from)) patch[k] = to[k];
    else if (!jsonEqual(from[k], to[k])) patch[k] = mergeDiff(from[k], to[k]);
  }
  return patch;
}

// The top-level changes from `from` to `to`, as pending entries.
function topLevelChanges(from, to) {
  const changes = {};
  for (const k of Object.keys(from)) if (!(k in to)) changes[k] = { d: true };
  for (const k of Object.keys(to)) {
    if (!(k in from) || !jsonEqual(from[k], to[k])) changes[k] = { v: to[k] };
  }
  return changes;
}

function applyPending(doc, pending) {
  const out = { ...doc };
  for (const [k, entry] of Object.entries(pending)) {
    if (entry.d) delete out[k];
    else out[k] = entry.v;
  }
  return out;
}

// RFC 6901 pointers, for the conflicts the server names.
function pointerTokens(pointer) {
  return pointer === "" ? [] : pointer.slice(1).split("/").map(
    (t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function setAtPointer(doc, pointer, present, value) {
  const tokens = pointerTokens(pointer);
  const root = structuredClone(doc);
  let node = root;
  for (const t of tokens.slice(0, -1)) {
    if (!isObject(node[t])) node[t] = {};
    node = node[t];
  }
  const last = tokens[tokens.length - 1];
  if (present) node[last] = value;
  else delete node[last];
  return root;
}

const show = (v) => JSON.stringify(v, null, 2);

// ---- save state (the aria-live region) ------------------------------------------------

function setState(state, text) {
  const region = $("save-state");
  if (region.dataset.state === state && region.textContent === text) return;
  region.dataset.state = state;
  region.textContent = text;
}

// ---- the open document ----------------------------------------------------------------

let doc = null; // {collection, id, url, server, base, pending, inflight, conflict, ...}

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
  let server;
  for (;;) {
    try {
      const response = await fetch(url, { cache: "no-store" });
      if (response.status === 404) {
        setState("error", stored ? "This document was deleted; your changes are kept in this browser"
                                 : "No such document");
        return;
      }
      if (response.ok) {
        server = { etag: response.headers.get("ETag"), body: await response.json() };
        break;
      }
    } catch (error) { /* unreachable: try again below */ }
    setState("offline", "Offline, retrying");
    await sleep(RETRY_MIN_MS);
  }
  doc = {
    collection, id, url, server,
    base: stored ? stored.base : server,
    pending: stored ? stored.pending : {},
    request: stored && stored.request ? stored.request : null,
    inflight: stored && stored.request ? stored.request.fields : null,
    sending: false, conflict: null, timer: null, retryTimer: null,
    backoff: RETRY_MIN_MS, saveCount: 0, pollTimer: null, rawShown: null, error: null,
  };
  render();
  if (hasUnsaved()) save(); // edits a reload interrupted: send them again now
  else showState();
  doc.pollTimer = setTimeout(poll, POLL_MS);
}

function stopDocument() {
  if (!doc) return;
  clearTimeout(doc.timer);
  clearTimeout(doc.retryTimer);
  clearTimeout(doc.pollTimer);
  doc.stopped = true;
  doc = null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showState() {
  if (doc.conflict) setState("conflict", "Conflict: choose a value below");
  else if (doc.error) setState("error", doc.error);
  else if (doc.offline) setState("offline", "Offline, retrying");
  else if (doc.inflight) setState("saving", "Saving…");
  else if (Object.keys(doc.pending).length) setState("pending", "Unsaved changes");
  else setState("saved", "All changes saved");
  $("discard").hidden = !(doc.error && hasUnsaved());
}

// ---- editing ----------------------------------------------------------------------------

function edit(changes) {
  if (Object.keys(changes).length === 0) return;
  Object.assign(doc.pending, changes);
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
  $("raw-error").textContent = "";
  // Only what the user changed in the text counts, not what others changed meanwhile.
  const changes = topLevelChanges(doc.rawShown, parsed);
  doc.rawShown = parsed;
  edit(changes);
}

function addField(event) {
  event.preventDefault();
  const name = $("new-field-name").value.trim();
  if (!doc || !name || name in viewDoc()) return;
  const type = $("new-field-type").value;
  const value = type === "number" ? 0 : type === "boolean" ? false : "";
  $("new-field-name").value = "";
  edit({ [name]: { v: value } });
  const input = document.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (input) input.focus();
}

// ---- rendering --------------------------------------------------------------------------

function fieldId(name) { return "field-" + encodeURIComponent(name).replace(/[^A-Za-z0-9_-]/g, "_"); }

function render() {
  const view = viewDoc();
  const list = $("field-list");
  const shape = Object.keys(view).map((k) => `${k}:${typeof view[k]}:${view[k] === null}`).join("\n");
  if (list.dataset.shape !== shape) {
    const focused = document.activeElement && document.activeElement.id;
    list.replaceChildren(...Object.keys(view).map((k) => fieldRow(k, view[k])));
    list.dataset.shape = shape;
    if (focused && $(focused)) $(focused).focus();
  }
  for (const input of list.querySelectorAll("[data-field]")) {
    const name = input.dataset.field;
    const row = input.closest(".field");
    row.classList.toggle("pending", name in doc.pending || (doc.inflight && name in doc.inflight));
    if (input === document.activeElement) continue; // never overwrite what the user is typing
    const value = view[name];
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
  label.textContent = name;
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
    if (entry.d) patch[k] = null;
    else if (isObject(entry.v) && isObject(doc.base.body[k])) patch[k] = mergeDiff(doc.base.body[k], entry.v);
    else patch[k] = entry.v;
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
  let response, body;
  try {
    response = await fetch(current.url, {
      method: "PATCH",
      cache: "no-store",
      headers: {
        "Content-Type": "application/merge-patch+json",
        "If-Match": request.etag,
        "Prefer": "rebase",
        "Idempotency-Key": request.key,
      },
      body: request.body,
    });
    body = await response.json();
  } catch (error) {
    response = null;
  }
  current.sending = false;
  if (current.stopped) return;
  const inFlightElsewhere = response && response.status === 409 && String(body.type).endsWith("/idempotency-key-in-flight");
  if (!response || response.status >= 500 || inFlightElsewhere) {
    // No answer that says what became of the save: send the very same request again.
    current.offline = !inFlightElsewhere;
    persist();
    showState();
    const wait = current.backoff * (0.75 + Math.random() / 2);
    current.backoff = Math.min(current.backoff * 2, RETRY_MAX_MS);
    current.retryTimer = setTimeout(save, wait);
    return;
  }
  const sent = current.inflight;
  current.inflight = null;
  current.request = null;
  // Until a 2xx, the sent edits are unsaved again (edits typed since win over them).
  if (!response.ok) current.pending = { ...sent, ...current.pending };
  current.offline = false;
  current.backoff = RETRY_MIN_MS;
  if (response.ok) {
    current.server = { etag: response.headers.get("ETag"), body };
    current.base = current.server;
  } else if (response.status === 409 && Array.isArray(body.conflicts) && body.current_etag) {
    current.conflict = { conflicts: body.conflicts, currentEtag: body.current_etag, choices: {} };
  } else if (response.status === 412) {
    // The base left the history: start again from the current version, unsaved edits on top.
    try {
      await refetch(current);
      current.base = current.server;
    } catch (error) {
      current.offline = true;
      current.retryTimer = setTimeout(save, current.backoff);
    }
  } else if (response.status === 404) {
    current.error = "This document was deleted; your changes are kept in this browser";
  } else {
    current.error = `Not saved: ${body.title || response.status}${body.detail ? ` (${body.detail})` : ""}`;
  }
  persist();
  render();
  renderConflicts();
  showState();
  if (Object.keys(current.pending).length && !current.timer) save();
}

async function refetch(current) {
  const response = await fetch(current.url, { cache: "no-store" });
  if (!response.ok) throw new Error(`GET ${current.url}: ${response.status}`);
  current.server = { etag: response.headers.get("ETag"), body: await response.json() };
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
  if (!(side in entry)) {
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
    heading.textContent = `Field ${entry.pointer.slice(1) || "(whole document)"}`;
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
    const name = entry.pointer.slice(1);
    actions.append(
      button("Keep mine", () => choose(index, "requested" in entry, entry.requested)),
      button("Use theirs", () => choose(index, "current" in entry, entry.current)),
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
  label.textContent = `Value for ${entry.pointer.slice(1)} (JSON)`;
  const area = document.createElement("textarea");
  area.id = id;
  area.rows = 3;
  area.value = JSON.stringify("requested" in entry ? entry.requested : entry.current);
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

// All chosen: the chosen values become edits on the version the server named.
async function resolve() {
  const current = doc;
  const { conflicts, choices } = current.conflict;
  setState("saving", "Saving…");
  for (;;) {
    try {
      await refetch(current);
      break;
    } catch (error) {
      setState("offline", "Offline, retrying");
      await sleep(RETRY_MIN_MS);
    }
  }
  let desired = applyPending(current.server.body, current.pending);
  conflicts.forEach((entry, i) => {
    desired = setAtPointer(desired, entry.pointer, choices[i].present, choices[i].value);
  });
  current.base = current.server;
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
  try {
    const response = await fetch(`/v1/${encodeURIComponent(collection)}?limit=1000`, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || body.title);
    for (const item of body.items) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `#/${encodeURIComponent(collection)}/${encodeURIComponent(item.id)}`;
      const title = typeof item.document.title === "string" && item.document.title ? ` — ${item.document.title}` : "";
      a.textContent = item.id + title;
      li.append(a);
      list.append(li);
    }
    $("collection-empty").hidden = body.items.length > 0;
    $("collection-heading").textContent = `Documents in ${collection}`;
    $("collection").hidden = false;
  } catch (error) {
    $("browse-error").textContent = `Could not open ${collection}: ${error.message}`;
    $("browse-error").hidden = false;
  }
}

async function createDocument(event) {
  event.preventDefault();
  const collection = $("collection-name").value;
  let body;
  try {
    body = JSON.parse($("new-document").value);
    if (!isObject(body)) throw new Error("a document is a JSON object");
  } catch (error) {
    $("browse-error").textContent = `Not created: ${error.message}`;
    $("browse-error").hidden = false;
    return;
  }
  try {
    const response = await fetch(`/v1/${encodeURIComponent(collection)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error((await response.json()).title);
    const id = response.headers.get("Location").split("/").pop();
    location.hash = `#/${encodeURIComponent(collection)}/${id}`;
  } catch (error) {
    $("browse-error").textContent = `Not created: ${error.message}`;
    $("browse-error").hidden = false;
  }
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
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
  window.addEventListener("online", () => { if (doc && doc.offline) save(); });
  window.addEventListener("hashchange", route);
  route();
});
