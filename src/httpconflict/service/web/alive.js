// Which tabs of this browser live, and which document each shows, where the page has no Web
// Locks: navigator.locks is only there in a secure context, so a page served over plain HTTP
// to another host than localhost has none. kept.js asks it whose kept edits a live tab holds.
//
// Theory of operation. Each tab writes a heartbeat under its id in localStorage
// (`httpconflict.alive:{tab}`: when, and the document it shows) every second and whenever
// it shows another document, and one saying it left as it goes (pagehide). A tab is live
// while its heartbeat is recent. A tab that left is taken for live a while longer than a
// reload takes, so that a reloaded tab (its id kept in sessionStorage) finds its edits its
// own again instead of another tab's. A heartbeat can be late with its tab alive (a hidden
// tab's timers may run once a minute): a tab whose heartbeat is old is asked on a
// BroadcastChannel, which a hidden tab answers at once; only a tab that neither beats nor
// answers is gone, and its kept edits are an orphan another tab takes up once. A tab whose
// kept edits were taken up all the same (frozen, or put in the back/forward cache, for
// longer than that) loads again when it comes back, and finds them gone from storage: it
// never sends from memory what another tab sends.
//
// Where no Web Lock lets one tab at a time take up an orphan, `exclusively` stands in: a
// claim written to localStorage and read back once the write has reached the other tabs.
"use strict";

const ALIVE_PREFIX = "httpconflict.alive:";
const CLAIM_PREFIX = "httpconflict.claim:";
const HEARTBEAT_MS = 1000;
const STALE_MS = 3000; // a heartbeat older than this: its tab is asked whether it lives
const LEFT_GRACE_MS = 3000; // a tab that left may be reloading: its edits stay its own so long
const ASK_MS = 300; // how long a question waits for answers
const SETTLE_MS = 100; // how long a write to localStorage takes to reach the other tabs
const CLAIM_MS = 3000; // a claim left by a tab that crashed holding it lapses

const alive = { showing: null, channel: null, claims: new Set() };

const heartbeatOf = (tab) => JSON.parse(localStorage.getItem(ALIVE_PREFIX + tab) || "null");

function heartbeat(left = false) {
  localStorage.setItem(ALIVE_PREFIX + keeper.tab, JSON.stringify({ at: Date.now(), showing: alive.showing, left }));
}

// This tab's id, without Web Locks: the id it had before a reload, unless a live tab answers
// to it (this tab is a duplicate of that one, its sessionStorage copied): then a new one.
async function claimWithoutLocks(before) {
  if ("BroadcastChannel" in window) alive.channel = new BroadcastChannel("httpconflict.alive");
  if (!before) return newId();
  const last = heartbeatOf(before);
  if (last && last.left) {
    // Reloaded: the page before said it left. The document it showed is shown again in a
    // moment, so its edits stay its own meanwhile.
    if (Date.now() - last.at < LEFT_GRACE_MS) alive.showing = last.showing;
    return before;
  }
  return (await asked([before])).has(before) ? newId() : before;
}

// Called once the tab has its id: it beats, answers questions, says when it leaves, and
// loads again when it comes back after others may have taken up its edits.
function startHeartbeat() {
  forgetLeftTabs();
  heartbeat();
  setInterval(() => heartbeat(), HEARTBEAT_MS);
  if (alive.channel) {
    alive.channel.addEventListener("message", (event) => {
      const message = event.data;
      if (message.type !== "who" || !message.tabs.includes(keeper.tab)) return;
      heartbeat();
      alive.channel.postMessage({ type: "here", question: message.question, tab: keeper.tab, showing: alive.showing });
    });
  }
  window.addEventListener("pagehide", () => {
    heartbeat(true);
    for (const key of alive.claims) localStorage.removeItem(key); // a reload would wait for them
  });
  window.addEventListener("pageshow", (event) => { if (event.persisted) location.reload(); });
  document.addEventListener("resume", () => { heartbeat(); if (keptEditsTaken()) location.reload(); });
}

// Heartbeats of tabs that left long ago say no more than none at all.
function forgetLeftTabs() {
  const now = Date.now();
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const key = localStorage.key(i);
    if (!key || !key.startsWith(ALIVE_PREFIX)) continue;
    const beat = JSON.parse(localStorage.getItem(key) || "null");
    if (beat && beat.left && now - beat.at > LEFT_GRACE_MS) localStorage.removeItem(key);
  }
}

// The tab shows `url` until `signal` aborts.
function showWithoutLocks(url, signal) {
  alive.showing = url;
  heartbeat();
  signal.addEventListener("abort", () => {
    if (alive.showing !== url) return;
    alive.showing = null;
    heartbeat();
  });
}

// Which of `tabs` live: a Map from each live one to the document it shows (or null).
async function liveTabs(tabs) {
  const now = Date.now();
  const live = new Map();
  const unsure = [];
  for (const tab of tabs) {
    const beat = heartbeatOf(tab);
    if (!beat) continue; // never beat, or forgotten after it left: gone
    if (now - beat.at < (beat.left ? LEFT_GRACE_MS : STALE_MS)) live.set(tab, beat.showing);
    else if (!beat.left) unsure.push(tab);
  }
  for (const [tab, showing] of await asked(unsure)) live.set(tab, showing);
  return live;
}

// Asks the tabs `tabs` whether they live: a Map from each that answered to what it shows.
function asked(tabs) {
  const answers = new Map();
  if (!tabs.length || !alive.channel) return Promise.resolve(answers);
  const question = newId();
  const hear = (event) => {
    const message = event.data;
    if (message.type === "here" && message.question === question) answers.set(message.tab, message.showing);
  };
  alive.channel.addEventListener("message", hear);
  alive.channel.postMessage({ type: "who", question, tabs });
  return sleep(ASK_MS).then(() => {
    alive.channel.removeEventListener("message", hear);
    return answers;
  });
}

// Runs `task` while no other tab of this browser runs one under `name`: with a Web Lock
// where there are, else with a claim in localStorage, read back after it reached the other
// tabs (the last claim written wins; a claim is written only where none is held).
async function exclusively(name, task) {
  if (navigator.locks) return navigator.locks.request(name, task);
  const key = CLAIM_PREFIX + name;
  const held = () => JSON.parse(localStorage.getItem(key) || "null");
  for (;;) {
    const claim = held();
    if (!claim || Date.now() - claim.at > CLAIM_MS) {
      const mine = { id: newId(), at: Date.now() };
      localStorage.setItem(key, JSON.stringify(mine));
      await sleep(SETTLE_MS);
      if (held()?.id === mine.id) {
        alive.claims.add(key);
        try {
          return await task();
        } finally {
          alive.claims.delete(key);
          if (held()?.id === mine.id) localStorage.removeItem(key);
        }
      }
    }
    await sleep(SETTLE_MS + Math.random() * SETTLE_MS);
  }
}
