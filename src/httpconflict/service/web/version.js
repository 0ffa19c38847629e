// The open document's version as a person reads it: its number in the document's history
// and when it was last changed ("Version 4, last changed 14:02:05"). The HTTP validators
// (the ETag a save sends as If-Match, the Last-Modified date) are only under "HTTP details".
//
// A document's answers carry its ETag and Last-Modified but not its number: that comes from
// the newest entry of GET .../versions, asked once per version shown. When that entry is
// already a newer version (another writer was quicker), the number is left out rather than
// guessed, until the page shows the newer one.
"use strict";

// A version as the page keeps it, from a 2xx answer carrying the document.
const versionOf = (response, body) => ({
  etag: response.headers.get("ETag"),
  modified: response.headers.get("Last-Modified"),
  body,
});

function renderVersion() {
  const { etag, modified } = doc.server;
  const number = doc.numbered && doc.numbered.etag === etag ? doc.numbered.number : null;
  const date = modified ? new Date(modified) : null;
  const changed = date && !Number.isNaN(date.getTime()) ? `last changed ${when(date)}` : "";
  const line = number === null ? changed.replace(/^l/, "L") : [`Version ${number}`, changed].filter(Boolean).join(", ");
  $("document-version").textContent = line;
  $("document-etag").textContent = etag;
  $("document-modified").textContent = modified || "(none)";
  if (!doc.numbered || doc.numbered.etag !== etag) numberVersion(doc);
}

// The time alone for today, else the date too, in the reader's own locale.
function when(date) {
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

async function numberVersion(current) {
  const etag = current.server.etag;
  if (current.numbering === etag) return;
  current.numbering = etag;
  const { response, body } = await call(`${current.url}/versions?limit=1`);
  if (current.stopped) return;
  const items = response && response.ok && isObject(body) ? get(body, "items") : undefined;
  const newest = Array.isArray(items) && isObject(items[0]) ? items[0] : {};
  const number = get(newest, "etag") === etag ? get(newest, "version") : undefined;
  current.numbered = { etag, number: Number.isInteger(number) ? number : null };
  if (current.numbering === etag) current.numbering = null;
  if (current === doc) renderVersion();
}
