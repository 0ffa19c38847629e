// Browsing a collection and creating a document.
"use strict";

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
    if (response && response.status === 403) browseError(forbidden("read"));
    else browseError(`Could not open ${collection}: ${response ? refusal(answer) : "no answer from the service"}`);
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
    if (inexactNumber(parsed)) throw new Error(INEXACT);
  } catch (error) {
    browseError(`Not created: ${error.message}`);
    return;
  }
  if (!creating || creating.collection !== collection || creating.text !== text) {
    creating = { collection, text, key: newId() };
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
  if (response.status === 403) {
    browseError(`${forbidden("write to")}: the document was not created`);
    return;
  }
  if (!response.ok) {
    browseError(`Not created: ${refusal(answer)}`);
    return;
  }
  const id = response.headers.get("Location").split("/").pop();
  location.hash = `#/${encodeURIComponent(collection)}/${id}`;
}

