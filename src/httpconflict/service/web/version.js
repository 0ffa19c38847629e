// The open document's version as a person reads it: its number in the document's history
// and when it was last changed ("Version 4, last changed 14:02:05"). The HTTP validators
// (the ETag a save sends as If-Match, the Last-Modified date) are only under "HTTP details".
//
// A document's answers carry its ETag and Last-Modified but not its number. The change feed
// says each change's number with its ETag (others' changes and this page's own saves alike),
// and a save answered without a merge (no Rebased-From; not a replay, which would not say)
// made the version after its base's: its If-Match was checked and the write made in one
// statement. Only a version known neither way is asked for, as the newest entry of GET
// .../versions (which carries the whole document): the one the page opens on, or one the
// feed has not named within a second. When that entry is already a newer version (another writer was quicker), the
// number is left out rather than guessed, until the page shows the newer one.
"use strict";

// A version as the page keeps it, from a 2xx answer carrying the document.
const versionOf = (response, body) => ({
  etag: response.headers.get("ETag"),
  modified: response.headers.get("Last-Modified"),
  body,
});

const NUMBER_GRACE_MS = 1000; // the feed names a change within ~50 ms of its answer

function renderVersion() {
  const { etag, modified } = doc.server;
  const number = doc.numbers.get(etag) ?? null;
  const date = modified ? new Date(modified) : null;
  const changed = date && !Number.isNaN(date.getTime()) ? `last changed ${when(date)}` : "";
  const line = number === null ? changed.replace(/^l/, "L") : [`Version ${number}`, changed].filter(Boolean).join(", ");
  $("document-version").textContent = line;
  $("document-etag").textContent = etag;
  $("document-modified").textContent = modified || "(none)";
  if (!doc.numbers.has(etag)) numberVersion(doc);
}

// The time alone for today, else the date too, in the reader's own locale.
function when(date) {
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

// A version's number, learnt from the feed or a save's answer (a few kept, by ETag).
function knowNumber(current, etag, number) {
  if (!etag || !Number.isInteger(number) || current.numbers.get(etag) === number) return;
  current.numbers.set(etag, number);
  if (current.numbers.size > 32) current.numbers.delete(current.numbers.keys().next().value);
  if (current === doc && etag === current.server.etag) renderVersion();
}

async function numberVersion(current) {
  const etag = current.server.etag;
  if (current.asked.has(etag)) return;
  current.asked.add(etag);
  if (current.numbers.size) await sleep(NUMBER_GRACE_MS); // the feed will likely say it
  if (current.stopped || current.numbers.has(etag) || current.server.etag !== etag) return;
  const { response, body } = await call(`${current.url}/versions?limit=1`);
  if (current.stopped || current.numbers.has(etag)) return;
  const items = response && response.ok && isObject(body) ? get(body, "items") : undefined;
  const newest = Array.isArray(items) && isObject(items[0]) ? items[0] : {};
  const number = get(newest, "etag") === etag ? get(newest, "version") : undefined;
  current.numbers.set(etag, Number.isInteger(number) ? number : null);
  if (current === doc && etag === current.server.etag) renderVersion();
}
