// Edits kept in this browser (localStorage), one entry per tab and document, so that two
// tabs of one document never write over each other's unsaved edits.
//
// Theory of operation. A tab's unsaved edits of a document (editor.js: their base, the
// pending fields, the unanswered request) are stored under keys naming the tab and the
// document, and only that tab writes them: a keystroke in one tab never replaces what
// another tab of the same document kept. The tab's id lives in sessionStorage, which a
// reload keeps, so a reloaded tab finds its own edits again. While a tab shows a document
// it holds a Web Lock named after its id and the document; an entry whose tab holds none
// was left by a tab that closed, reloaded under another id, or moved to another document
// (its save unanswered or refused there), and is an orphan. The next tab that shows the document
// with nothing unsaved of its own adopts one: moves it under its own id (under a lock per
// document, so two tabs never adopt the same one) and sends it as a reload would, on the
// base it was made on, so the server (or the page, rebaseKept) merges it field by field
// or asks; once that is saved or decided, it adopts the next. An entry of a live tab is
// left to that tab, which saves it itself (the change feed then shows it here); meanwhile
// this tab says that another tab holds unsaved changes (the `storage` event keeps that
// true). A duplicated tab (its sessionStorage copied) finds its id's lock held and takes a
// new id. Without Web Locks (a page not from a secure context) the tabs tell each other
// that they live, and what they show, by heartbeats in localStorage instead (alive.js).
//
// A save answered after the page left its document is that document's: its answer is
// never shown on the one now open. Edits typed on it during that save are sent once it is
// answered (sendLeft), on the version it made; whatever refuses them, they stay stored with
// the request (its key too), sent again when the document is opened, and so answered.
"use strict";

const KEPT_PREFIX = "httpconflict.kept:";
const KEPT_BASE_PREFIX = "httpconflict.kept-base:";
// Stored before entries were per tab: no tab owns them, so they are orphans.
const LEGACY_PREFIX = "httpconflict.pending:";
const LEGACY_BASE_PREFIX = "httpconflict.base:";
const TAB_KEY = "httpconflict.tab";
const TAB_LOCK = "httpconflict.tab:"; // held while the tab lives: its id is its own
const SHOWING_LOCK = "httpconflict.showing:"; // + tab:url, held while the tab shows url
const RECLAIM_MS = 1000; // how long a reloaded tab tries to hold its id's lock again
const OTHER_TABS = "Another tab of this browser holds unsaved changes to this document.";

const keeper = { tab: null, ready: null };

function storeKey(url, tab = keeper.tab) { return `${KEPT_PREFIX}${tab}:${url}`; }
function baseKey(url, tab = keeper.tab) { return `${KEPT_BASE_PREFIX}${tab}:${url}`; }

// The base's body (the whole document) is stored under a key of its own, written when the
// base moves: a keystroke rewrites only the small entry of edits, not a 5 MB document.
function persist(current = doc) {
  const key = storeKey(current.url);
  if (Object.keys(current.pending).length === 0 && !current.inflight) {
    localStorage.removeItem(key);
    localStorage.removeItem(baseKey(current.url));
    current.storedBase = null;
  } else {
    if (current.storedBase !== current.base) {
      localStorage.setItem(baseKey(current.url), JSON.stringify(current.base));
      current.storedBase = current.base;
    }
    // The unanswered save stays stored as it was sent (key and all): after a reload it is
    // sent again first, so that if it was applied its answer is replayed.
    const { etag, modified } = current.base;
    localStorage.setItem(key, JSON.stringify({ base: { etag, modified }, pending: current.pending, request: current.request }));
  }
}

// What was stored for `url`, with its base whole: {base, pending, request}, or null.
function storedEdits(url, server) {
  const stored = JSON.parse(localStorage.getItem(storeKey(url)) || "null");
  if (!stored || has(stored.base, "body")) return stored; // null, or stored whole
  const base = JSON.parse(localStorage.getItem(baseKey(url)) || "null");
  // Without its body (cleared by hand), the base still names its version for If-Match, and
  // is said to be guessed: a merge the page makes itself then asks for every field.
  const guessed = { ...stored.base, body: server ? server.body : {}, guessed: true };
  stored.base = base && base.etag === stored.base.etag ? base : guessed;
  return stored;
}

// A save answered 2xx after the page left its document: the stored copy forgets that
// request (unless the document was opened again and stored something newer), and edits
// typed during it stay stored on the version it made; unless that version came of a merge
// (they were typed on another), they are sent on it now (sendLeft), not when the document
// is opened again.
function forgetSent(current, request, version, merged) {
  const stored = storedEdits(current.url, null);
  if (!stored || !stored.request || stored.request.key !== request.key) return;
  const reopened = doc !== null && doc.url === current.url;
  if (!merged && !reopened && Object.keys(stored.pending).length) sendLeft(current.url, version, stored.pending);
  else persist({ url: current.url, base: version, pending: stored.pending, request: null, inflight: null, storedBase: null });
}

// This tab's id, its lock held: awaited before anything is read or stored.
function claimTab() {
  if (!keeper.ready) keeper.ready = claim();
  return keeper.ready;
}

async function claim() {
  const before = sessionStorage.getItem(TAB_KEY);
  let id = navigator.locks ? null : await claimWithoutLocks(before);
  // Reloaded, the page before may let go of its lock a moment after this one starts.
  for (let attempt = 0; before && !id && attempt < RECLAIM_MS / 100; attempt++) {
    if (await holdLock(TAB_LOCK + before)) id = before;
    else await sleep(100);
  }
  while (!id) {
    const fresh = newId();
    if (await holdLock(TAB_LOCK + fresh)) id = fresh;
  }
  sessionStorage.setItem(TAB_KEY, id);
  keeper.tab = id;
  if (!navigator.locks) startHeartbeat();
}

// Takes the Web Lock `name` for as long as the page lives: true, or false when it is held.
function holdLock(name) {
  return new Promise((resolve) => {
    navigator.locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock === null ? undefined : new Promise(() => {});
    });
  });
}

const showingLock = (url, tab = keeper.tab) => `${SHOWING_LOCK}${tab}:${url}`;

// Holds the lock saying this tab shows `url` until `signal` aborts (the page leaves it).
function holdShowing(url, signal) {
  if (signal.aborted) return;
  if (!navigator.locks) { showWithoutLocks(url, signal); return; }
  navigator.locks.request(showingLock(url), { signal }, () => new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", resolve);
  })).catch(() => {}); // aborted while waiting
}

// The entries other tabs keep for `url`: {orphans, live}, each [{tab, key, baseKey}];
// live ones are those of a tab that shows `url` now.
async function othersOf(url) {
  const entries = othersKept(url);
  const shows = await showingNow(url, entries.filter((entry) => entry.tab).map((entry) => entry.tab));
  const live = entries.filter((entry) => shows.has(entry.tab));
  return { orphans: entries.filter((entry) => !shows.has(entry.tab)), live };
}

// The entries kept for `url` by other tabs, or by none (legacy): [{tab, key, baseKey}].
function othersKept(url) {
  const entries = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key === LEGACY_PREFIX + url) {
      entries.push({ tab: null, key, baseKey: LEGACY_BASE_PREFIX + url });
    } else if (key.startsWith(KEPT_PREFIX) && key.endsWith(`:${url}`)) {
      const tab = key.slice(KEPT_PREFIX.length, key.length - url.length - 1);
      if (tab !== keeper.tab) entries.push({ tab, key, baseKey: baseKey(url, tab) });
    }
  }
  return entries;
}

// Which of `tabs` live and show `url` now: those holding their lock for it, or without Web
// Locks those whose heartbeat or answer says so (alive.js).
async function showingNow(url, tabs) {
  if (!tabs.length) return new Set();
  if (!navigator.locks) {
    const live = await liveTabs(tabs);
    return new Set(tabs.filter((tab) => live.get(tab) === url));
  }
  const held = new Set((await navigator.locks.query()).held.map((lock) => lock.name));
  return new Set(tabs.filter((tab) => held.has(showingLock(url, tab))));
}

// This page's unsaved edits of the open document were taken up by another tab (which took
// this tab for gone: frozen, or kept in the back/forward cache): that tab sends them now.
function keptEditsTaken() {
  return doc !== null && hasUnsaved(doc) && localStorage.getItem(storeKey(doc.url)) === null;
}

// Moves one orphan of `url` under this tab's id, when this tab keeps nothing for it and
// `wanted()` (asked at that very moment) still says yes; then calls `taken()` at once,
// before any keystroke can store this tab's own edits over it. True when one was moved.
async function adoptOrphan(url, wanted = () => true, taken = () => {}) {
  await claimTab();
  if (othersKept(url).length === 0) return false; // nothing to adopt: no lock to wait for
  const adopt = async () => {
    const { orphans } = await othersOf(url);
    const orphan = orphans[0];
    if (!orphan || localStorage.getItem(storeKey(url)) !== null || !wanted()) return false;
    const base = localStorage.getItem(orphan.baseKey);
    if (base !== null) localStorage.setItem(baseKey(url), base);
    localStorage.setItem(storeKey(url), localStorage.getItem(orphan.key));
    localStorage.removeItem(orphan.key);
    localStorage.removeItem(orphan.baseKey);
    taken();
    return true;
  };
  return exclusively(`httpconflict.adopt:${url}`, adopt);
}

// This tab's kept edits of `url`, or, when it keeps none, an orphan's adopted.
async function keptEdits(url, server) {
  const own = storedEdits(url, server);
  if (own || !(await adoptOrphan(url))) return own;
  return storedEdits(url, server);
}

// What the open document says of other tabs' edits, and an orphan taken up when this tab
// has nothing unsaved, no question open and no refusal shown.
async function lookAtOtherTabs(current) {
  if (current.stopped) return;
  const idle = () => !current.stopped && !current.sending && !current.conflict && !current.error &&
    !current.recreating && !current.inflight && Object.keys(current.pending).length === 0;
  const { live } = await othersOf(current.url);
  if (current.stopped) return;
  $("other-tabs").textContent = live.length ? OTHER_TABS : "";
  $("other-tabs").hidden = live.length === 0;
  for (const { tab } of live) outlive(current, tab);
  if (!idle()) return;
  await adoptOrphan(current.url, idle, () => takeUp(current));
}

// Waits for a live tab that keeps edits of the open document to close or leave it (its
// lock is then granted here, and let go at once), and looks again: its entry is an orphan
// to take up now, not when the document is next opened. Looked at after a grace longer
// than a reloaded tab takes to hold its lock again, so that its own edits stay its own.
function outlive(current, tab) {
  if (current.outlived.has(tab)) return;
  current.outlived.add(tab);
  if (!navigator.locks) { // nothing to wait on: looked at again after the next heartbeat
    sleep(HEARTBEAT_MS).then(() => { current.outlived.delete(tab); lookAtOtherTabs(current); });
    return;
  }
  navigator.locks.request(showingLock(current.url, tab), { signal: current.leaving.signal }, () => {})
    .then(() => sleep(RECLAIM_MS), () => {})
    .then(() => { current.outlived.delete(tab); lookAtOtherTabs(current); });
}

// An adopted entry becomes the open document's unsaved edits, sent as after a reload.
function takeUp(current) {
  const stored = storedEdits(current.url, current.server);
  current.base = stored.base;
  current.storedBase = null;
  current.pending = stored.pending;
  current.request = stored.request || null;
  current.inflight = current.request ? current.request.fields : null;
  render();
  save();
}

// A save of a left document answered 2xx (not merged, so `version` is its base with the
// sent fields): the edits typed during it go on that version now, not when it is opened
// again; unanswered, they are sent again until answered or the document is opened again.
async function sendLeft(url, version, pending) {
  const fields = pending;
  const request = { etag: version.etag, body: JSON.stringify(patchOf(fields, version)), key: newId(), fields };
  const left = { url, base: version, pending: {}, inflight: fields, request, storedBase: null };
  persist(left);
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    if (doc && doc.url === url) return; // opened again: that page sends the stored request
    const answer = await sendPatch(url, request);
    if (!unanswered(answer)) {
      if (answer.response.ok) forgetSent(left, request, versionOf(answer.response, answer.body), true);
      return; // refused: stored with its key, answered when the document is opened again
    }
    await sleep(retryWait(answer, backoff));
  }
}

window.addEventListener("storage", (event) => {
  if (doc && keeper.tab && event.key === storeKey(doc.url) && keptEditsTaken()) location.reload();
  else if (doc && (event.key === null || event.key.endsWith(`:${doc.url}`))) lookAtOtherTabs(doc);
});
