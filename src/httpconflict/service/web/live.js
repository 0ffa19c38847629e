// The open document's live view of others' changes (the feed, feed.js, says when): read
// when its ETag is not the page's, shown in every field with no unsaved edit, and the base
// moved to it only once the page shows all of it (editor.js's theory of operation).
"use strict";

// The feed says the document changed: read it, unless the page has that version already.
// Shown deleted, the page reads it whatever its ETag: created again with the same bytes,
// it has the very ETag it had before the delete.
function changedElsewhere(current, change) {
  current.newest = change.etag;
  knowNumber(current, change.etag, change.version);
  if (change.etag !== current.server.etag || (isDeleted(current) && !change.deleted)) readChanged(current);
}

// Read the document if it changed (If-None-Match: a 304 otherwise). While a save is in
// flight its answer is awaited first (it may be the very change); reads do not overlap.
async function readChanged(current) {
  if (current.stopped) return;
  if (current.inflight || current.sending || current.reading || current.recreating) { current.stale = true; return; }
  current.stale = false;
  current.reading = true;
  const etag = current.server.etag;
  const deleted = isDeleted(current);
  try {
    const headers = deleted ? {} : { "If-None-Match": etag };
    const response = await authorizedFetch(current.url, { cache: "no-store", headers });
    // A save that started meanwhile answers with a newer version than this read's.
    if (response.status === 200 && !current.inflight && current.server.etag === etag && !current.stopped) {
      const version = versionOf(response, await response.json());
      if (current.stopped || current.inflight || current.server.etag !== etag) {
        // left, or a save began while the body was read: its answer is newer
      } else if (deleted && isDeleted(current)) {
        recreatedElsewhere(current, version);
      } else {
        current.server = version;
        render();
        maybeAdvanceBase(current);
      }
    } else if (response.status === 404 && !current.inflight && !current.stopped) {
      // Deleted elsewhere: said at once, not at the next save; the text stays on the page.
      current.error = hasUnsaved(current) ? DELETED : GONE;
      showState();
    }
  } catch (error) { /* unreachable: the feed's next change or reconnection reads it again */ }
  current.reading = false;
  if (current.stale && !current.inflight && !current.sending) readChanged(current);
}

// What the page says about live updates: nothing while they work.
function showLive(current, text) {
  if (current !== doc && text) return;
  $("live-state").textContent = text;
  $("live-state").hidden = !text;
}

// With nothing unsaved, the next edit is based on the newest version, unless a draft was
// typed on an older one (every other control shows the newest: render).
function maybeAdvanceBase(current) {
  if (hasUnsaved(current) || current.conflict) return;
  if (current.rawDraft && !jsonEqual(current.rawShown, current.server.body)) return;
  for (const input of draftInputs()) {
    const name = input.dataset.field;
    if (!jsonEqual(get(current.base.body, name), get(current.server.body, name))) return;
  }
  current.base = current.server;
}
