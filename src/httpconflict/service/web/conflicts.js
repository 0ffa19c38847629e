// The conflict view: a 409 merge-conflict shown side by side, and the user's choices.
//
// For each conflicting pointer the page shows base, theirs and mine; once every one has a
// choice, the chosen values become ordinary unsaved edits on the newest version, and the
// next save sends them with that version as If-Match.
"use strict";

// A field's conflict as the server's 409 names one ({pointer, base, current, requested}),
// each side there only when it holds the field; `base` is null when it is not known.
function fieldConflict(name, base, theirs, mine) {
  const entry = { pointer: fieldPointer(name) };
  if (base && has(base, name)) entry.base = base[name];
  if (has(theirs, name)) entry.current = theirs[name];
  if (has(mine, name)) entry.requested = mine[name];
  return entry;
}

// Unsaved edits made while the page showed `shown` (a document; null when not known), moved
// onto the version just read or answered (current.server), as a merge would. A field that
// version holds as `shown` did goes on as an edit (the base moves to it); a field it holds
// otherwise (changed elsewhere, even to the same value: two increments are not one), or
// any field when `shown` is not known, is a conflict to decide, and the base stays until
// the choice: a reload or another tab asks again instead of saving over a change the user
// never saw. Used when the server cannot merge (a 412: it no longer knows the base, which
// left the history or went with an erased document; `shown` is the stored base), and when
// a save came back merged with others' changes while more was typed (`shown` is what the
// page showed as that save went).
function rebaseKept(current, shown) {
  const { server, pending } = current;
  const mine = applyPending(server.body, pending);
  const conflicts = Object.keys(pending)
    .filter((name) => !shown || !sameField(shown, server.body, name))
    .map((name) => fieldConflict(name, shown, server.body, mine));
  if (conflicts.length) current.conflict = { conflicts, currentEtag: server.etag, choices: {} };
  else current.base = server;
}

function valueCell(entry, side, cell = document.createElement("td")) {
  cell.replaceChildren();
  cell.className = "";
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
    const mine = valueCell(mineOf(entry), "requested");
    mine.dataset.mine = "";
    row.append(valueCell(entry, "base"), valueCell(entry, "current"), mine);
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
      button("Keep mine", () => {
        const mine = atPointer(viewDoc(), entry.pointer);
        choose(index, mine.present, mine.value);
      }),
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

// Mine is what the page shows now: typing goes on while the conflict is shown, and what
// was typed after the refused save is the user's too.
function mineOf(entry) {
  const mine = atPointer(viewDoc(), entry.pointer);
  const shown = { ...entry };
  delete shown.requested;
  if (mine.present) shown.requested = mine.value;
  return shown;
}

// Typing while the conflict is shown: each undecided "Mine" cell follows it.
function refreshMine() {
  if (!doc || !doc.conflict) return;
  doc.conflict.conflicts.forEach((entry, index) => {
    const cell = $("conflict-list").children[index]?.querySelector("[data-mine]");
    if (cell && !has(doc.conflict.choices, index)) valueCell(mineOf(entry), "requested", cell);
  });
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
  const mine = mineOf(entry);
  area.value = JSON.stringify(has(mine, "requested") ? mine.requested : entry.current);
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("aria-live", "polite");
  const use = document.createElement("button");
  use.type = "button";
  use.textContent = "Use this value";
  use.addEventListener("click", () => {
    try {
      const value = JSON.parse(area.value);
      if (inexactNumber(value)) error.textContent = `Not used: ${INEXACT}.`;
      else choose(index, true, value);
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
  else nextConflict(index)?.querySelector("button:not(:disabled)")?.focus();
}

// The first undecided conflict after `index` (or before it, wrapping round): where the
// focus goes from the disabled buttons of the one just decided, not to the page's body.
function nextConflict(index) {
  const boxes = Array.from($("conflict-list").children);
  const undecided = (box, i) => !has(doc.conflict.choices, i);
  return boxes.find((box, i) => i > index && undecided(box, i)) || boxes.find(undecided);
}

// After the choice: the field of the first conflict (its value now shown), else (removed)
// the first field, else the raw JSON.
function focusResolved(conflicts) {
  const name = pointerTokens(conflicts[0].pointer)[0];
  const target = (name !== undefined && fieldInput(name)) || $("fields").querySelector("input, output") ||
    ($("raw-json").hidden ? $("show-raw") : $("raw-json"));
  target.focus();
}

// The other side changed again while the choice was made: the choice was made against
// the values shown as theirs, so where a conflicting value moved since, or a field only
// this page had changed is no longer as at the base, the conflict is shown again with
// what is stored now, every choice to make again (as the server's merge would answer a
// save on that version). True when asked again.
function askAgain(current) {
  const { server, conflict, base, pending } = current;
  const moved = (entry) => {
    const now = atPointer(server.body, entry.pointer);
    return now.present !== has(entry, "current") || (now.present && !jsonEqual(now.value, entry.current));
  };
  const named = new Set(conflict.conflicts.map((entry) => pointerTokens(entry.pointer)[0]));
  const mine = applyPending(server.body, pending);
  const others = Object.keys(pending)
    .filter((name) => !named.has(name) && (base.guessed || !sameField(base.body, server.body, name)))
    .map((name) => fieldConflict(name, base.guessed ? null : base.body, server.body, mine));
  if (!others.length && !conflict.conflicts.some(moved)) return false;
  const again = conflict.conflicts.map((entry) => {
    const now = atPointer(server.body, entry.pointer);
    const shown = { ...entry };
    delete shown.current;
    if (now.present) shown.current = now.value;
    return shown;
  });
  current.conflict = { ...conflict, conflicts: [...again, ...others], currentEtag: server.etag, choices: {} };
  persist(current);
  render();
  renderConflicts();
  showState();
  return true;
}

// All chosen: the chosen values become edits on the version the server named (or newer).
// If that read is refused, they become edits on the version last seen, kept unsaved beside
// the refusal. The edits no conflict named go onto that version as the server merges them
// (the patch a save sends, made on the base): an object field keeps the members others
// changed and this page did not.
async function resolve() {
  const current = doc;
  const { conflicts, choices } = current.conflict;
  setState("saving", "Saving…");
  const read = await readAgain(current);
  if (current.stopped) return;
  if (read && current.server.etag !== current.conflict.currentEtag && askAgain(current)) return;
  let desired = applyMergePatch(current.server.body, patchOf(current.pending));
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
  focusResolved(conflicts);
  save();
}

