// Recreating a document deleted elsewhere from the copy this page holds.
//
// The copy is what the page shows (viewDoc: the last version read with the unsaved edits
// on top). It is sent as a create, PUT with If-None-Match: *, so it never overwrites a
// document someone else created under the same id meanwhile, with an Idempotency-Key kept
// for its own retries (no answer, 5xx): a create whose answer was lost is answered from the
// key, not refused as "exists". Refused so (412), the page reads what was created and shows
// each field where the two differ in the conflict view, theirs beside mine; until the user
// has chosen, the copy stays the page's unsaved edits (kept in this browser), so nothing
// typed is lost whatever the answer.
"use strict";

const RECREATED_ELSEWHERE = "Someone else created this document again meanwhile: choose what to keep below";

async function recreate() {
  const current = doc;
  if (!current || current.recreating || !isDeleted(current)) return;
  const copy = viewDoc();
  current.recreating = { key: newId() };
  $("recreate-block").hidden = true;
  setState("saving", "Recreating…");
  let answer;
  for (let backoff = RETRY_MIN_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
    answer = await call(current.url, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "If-None-Match": "*", "Idempotency-Key": current.recreating.key },
      body: JSON.stringify(copy),
    });
    if (current.stopped) return;
    const inFlight = answer.response && answer.response.status === 409 &&
      problemType(answer).endsWith("/idempotency-key-in-flight");
    if (!(unanswered(answer) || inFlight)) break;
    if (!inFlight) setState("offline", retryingText(answer));
    await sleep(retryWait(answer, backoff));
    if (current.stopped) return;
  }
  current.recreating = null;
  const { response, body } = answer;
  // The copy with what was typed while it was sent: the unsaved edits from now on are
  // what of it the new document does not hold.
  const mine = viewDoc();
  current.inflight = null;
  current.request = null;
  current.error = null;
  if (response.ok) {
    current.server = versionOf(response, body);
    current.base = current.server;
    current.pending = topLevelChanges(current.server.body, mine);
  } else if (response.status === 412) {
    await adoptRecreated(current, mine);
    if (current.stopped) return;
  } else {
    current.pending = topLevelChanges(current.server.body, mine);
    current.error = response.status === 403
      ? `${forbidden("write to")}: not recreated; your copy is kept in this browser`
      : `Not recreated: ${refusal(answer)}`;
  }
  persist(current);
  render();
  renderConflicts();
  showState();
  if (Object.keys(current.pending).length && !current.conflict) save();
  // A change the feed told of meanwhile, unless it was this very create.
  if (current.stale && current.newest !== current.server.etag) readChanged(current);
  current.stale = false;
}

// The document shown deleted exists again, created elsewhere (another client, another tab):
// the page shows it from now on. Edits kept from before the delete were made on a document
// that is gone: each field they touch that the new one holds otherwise is asked about,
// theirs beside mine, and nothing is saved over theirs until the choice; unless it was
// created with the very bytes they were made on (the same ETag), where they go on as edits.
function recreatedElsewhere(current, version) {
  const edits = { ...(current.inflight || {}), ...current.pending };
  const mine = applyPending(version.body, edits);
  for (const name of Object.keys(edits)) {
    if (has(mine, name) === has(version.body, name) && jsonEqual(get(mine, name), get(version.body, name))) delete edits[name];
  }
  const shown = current.base.guessed ? null : current.base.body;
  current.server = version;
  current.inflight = null;
  current.request = null;
  current.error = null;
  current.pending = edits;
  const names = Object.keys(edits);
  if (names.length && version.etag !== current.base.etag) {
    const conflicts = names.map((name) => fieldConflict(name, shown, version.body, mine));
    current.conflict = { conflicts, currentEtag: version.etag, choices: {}, recreated: true };
  } else {
    current.base = version;
  }
  persist(current);
  render();
  renderConflicts();
  showState();
  if (names.length && !current.conflict) save();
}

// The document exists again, not from this page: read it, and make the copy unsaved edits
// on it, each field where they differ a conflict to decide.
async function adoptRecreated(current, copy) {
  const read = await readAgain(current);
  if (current.stopped) return;
  current.pending = topLevelChanges(current.server.body, copy);
  if (!read) return; // deleted again, or unreadable: said by readAgain, the copy kept
  // The base stays the version the copy was made on, stored with it until the choice is
  // made (resolve, conflicts.js): opened again (a reload, another tab), the page sends the
  // copy with that base, and the server's merge (or the page's, rebaseKept) asks
  // again for each field the other side changed, instead of saving over their version.
  const conflicts = Object.keys(current.pending).map((name) => fieldConflict(name, null, current.server.body, copy));
  if (conflicts.length) current.conflict = { conflicts, currentEtag: current.server.etag, choices: {}, recreated: true };
  else current.base = current.server;
}

function isDeleted(current) { return current.error === DELETED || current.error === GONE; }
