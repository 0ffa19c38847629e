// The open document's fields and raw JSON on the page, kept true to what is stored.
//
// Theory of operation. Every control shows the value the page would save: the newest
// server version with the unsaved edits on top (viewDoc). A keystroke in a field becomes
// an unsaved edit at once, so a field with no unsaved edit shows what is stored, and a new
// version read after a change or a save replaces its text, even under the cursor: nothing typed
// there is lost, and the page never says "All changes saved" beside an older value. When
// the replaced control has the focus it says so ("Someone else changed this field").
// Text the page cannot turn into an edit (a number box with no number in it, raw JSON
// that does not parse) is a *draft*: never overwritten, focused or not, and the save state
// says "Not saved" until it is fixed or discarded. A draft was typed on the version shown
// when it was started, so the base stays there (maybeAdvanceBase) and its edit, once
// valid, is checked against that version by the server.
// Rows are kept by field name, so another writer adding, removing or retyping a field
// never rebuilds the one being typed in (its text, focus and cursor stay).
"use strict";

// One id per name and no two names alike: letters, digits and "-" stay, any other
// character becomes "_<hex code point>_" (so "_" itself never stands for two things).
function fieldId(name) {
  const escaped = Array.from(name, (c) => /[A-Za-z0-9-]/.test(c) ? c : `_${c.codePointAt(0).toString(16)}_`);
  return "field-" + escaped.join("");
}

const CHANGED = "Someone else changed this field; it shows their value.";

const fieldInput = (name) => $("field-list").querySelector(`[data-field="${CSS.escape(name)}"]`);

function kindOf(value) {
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  return "json"; // objects, arrays and null: shown, edited in the raw JSON
}

// A number box whose text is no number (empty, "-", "1e400"): nothing the page can send.
// A number past 2^53 typed there (inexactNumber) is one too: the page would send another number.
const isDraft = (input) => input.type === "number" && !input.readOnly &&
  (!Number.isFinite(input.valueAsNumber) || inexactNumber(input.valueAsNumber));

const draftInputs = () => Array.from($("field-list").querySelectorAll("input[type=number]")).filter(isDraft);

// What is shown but cannot be saved, as the save state says it; empty when there is none.
function draftText() {
  const field = draftInputs()[0];
  if (field && inexactNumber(field.valueAsNumber)) return `Not saved: ${fieldLabel(field.dataset.field)} is past 2^53`;
  if (field) return `Not saved: ${fieldLabel(field.dataset.field)} is not a number`;
  if (!doc.rawDraft) return "";
  return doc.rawDraft.startsWith("Not saved:") ? doc.rawDraft : "Not saved: the raw JSON is not valid";
}

function render() {
  const view = viewDoc();
  renderRows(view);
  for (const input of $("field-list").querySelectorAll("[data-field]")) {
    const name = input.dataset.field;
    const edited = has(doc.pending, name) || (doc.inflight !== null && has(doc.inflight, name));
    input.closest(".field").classList.toggle("pending", edited);
    // An edited field shows the edit already (it was typed there); a draft stays as typed.
    if ((edited && input === document.activeElement) || isDraft(input)) continue;
    if (showValue(input, get(view, name)) && input === document.activeElement) {
      note(input.closest(".field"), "changed", CHANGED);
    }
  }
  renderRaw(view);
  renderVersion();
  refreshMine();
}

// The rows of `view`, in its order, reusing each existing row of the same name and kind
// (and a draft's row whatever the kind), so the field being typed in is never rebuilt.
function renderRows(view) {
  const list = $("field-list");
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const rows = new Map(Array.from(list.children, (row) => [row.dataset.name, row]));
  const wanted = Object.keys(view).map((name) => {
    const row = rows.get(name);
    if (row && (row.dataset.kind === kindOf(view[name]) || isDraft(row.querySelector("[data-field]")))) return row;
    return fieldRow(name, view[name]);
  });
  // A walk along the rows, not `list.children[i]`: each insertion makes that live list count
  // again from the start (341 ms for 5,000 rows).
  let next = list.firstElementChild;
  for (const row of wanted) {
    if (row === next) next = next.nextElementSibling;
    else list.insertBefore(row, next);
  }
  while (next) {
    const after = next.nextElementSibling;
    next.remove();
    next = after;
  }
  if (!focused || document.activeElement === focused) return;
  // Moved (focus follows), retyped (a new input, focused, says why), or removed (said).
  const name = focused.dataset.field;
  if (list.contains(focused)) focused.focus();
  else if (has(view, name)) {
    fieldInput(name).focus();
    note(fieldInput(name).closest(".field"), "changed", CHANGED);
  } else note($("fields"), "removed", `Someone else removed the field ${fieldLabel(name)}.`);
}

// Puts `value` in the control unless it already shows it; true when its text changed.
function showValue(input, value) {
  if (input.type === "checkbox") {
    if (input.checked === (value === true)) return false;
    input.checked = value === true;
  } else if (input.tagName === "OUTPUT") {
    const text = outputText(value);
    if (input.textContent === text) return false;
    input.textContent = text;
  } else if (input.type === "number") {
    lockInexact(input, value);
    if (input.valueAsNumber === value) return false; // "1.50" shows 1.5: left as typed
    input.value = String(value);
  } else {
    if (input.value === String(value)) return false;
    replaceText(input, String(value));
  }
  return true;
}

// An object or array as its row shows it: the start of a long one (the raw JSON has all
// of it), since laying out a 5 MB paragraph took seconds.
const OUTPUT_MAX = 2000; // characters

function outputText(value) {
  const text = JSON.stringify(value);
  if (text.length <= OUTPUT_MAX) return text;
  return `${text.slice(0, OUTPUT_MAX)}… (${sizeText(text.length)} in all)`;
}

const sizeText = (length) => length < 1e6 ? `${Math.ceil(length / 1e3)} kB` : `${(length / 1e6).toFixed(1)} MB`;

// New text in a text box or area, the cursor kept where it was (as far as the text goes).
function replaceText(box, text) {
  const { selectionStart, selectionEnd } = box;
  box.value = text;
  if (box === document.activeElement) box.setSelectionRange(Math.min(selectionStart, text.length), Math.min(selectionEnd, text.length));
}

// A raw JSON longer than this is rewritten once typing elsewhere pauses, not at each
// keystroke: laying out a 5 MB text area took over a second a keystroke. Nor is it laid out
// until the user asks for it ("Show the raw JSON"): Chromium lays out all of a text area's
// text, 5 MB of it in about a second, even scrolled out of sight, and again at each rewrite.
const RAW_LIVE_MAX = 256 * 1024; // characters
const RAW_IDLE_MS = 300;

function renderRaw(view, now = false) {
  const area = $("raw-json");
  clearTimeout(doc.rawTimer);
  doc.rawTimer = null;
  if (doc.rawDraft) return;
  const changed = !jsonEqual(doc.rawShown, view);
  const focused = area === document.activeElement;
  const text = focused && !changed ? null : show(view);
  if (text !== null) foldRaw(text.length);
  if (!now && !focused && text.length > RAW_LIVE_MAX && area.value !== text) {
    // rawShown stays what the area shows, so an edit there is measured against that text.
    const current = doc;
    doc.rawTimer = setTimeout(() => { if (current === doc) renderRaw(viewDoc(), true); }, RAW_IDLE_MS);
    return;
  }
  // Under the cursor, the user's own layout of the same JSON stays.
  if (focused ? changed : area.value !== text) {
    replaceText(area, text);
    if (changed && area === document.activeElement && doc.rawShown !== null) {
      note($("raw-block"), "raw-changed", "Someone else changed this document; the raw JSON shows it.");
    }
  }
  doc.rawShown = view;
  $("raw-error").textContent = "";
}

// A large raw JSON stays folded (its text kept, not laid out) until the user unfolds it;
// once unfolded, it stays so for this document.
function foldRaw(length) {
  const folded = length > RAW_LIVE_MAX && !doc.rawUnfolded;
  const button = $("show-raw");
  button.hidden = !folded;
  if (folded) button.textContent = `Show the raw JSON (${sizeText(length)})`;
  $("raw-json").hidden = folded;
}

function unfoldRaw() {
  if (!doc) return;
  doc.rawUnfolded = true;
  foldRaw(0);
  $("raw-json").focus();
}

// A short note at the end of `block` (class `kind`; the raw JSON's has the id
// "raw-changed"), until its control is edited or left.
function note(block, kind, text) {
  let p = block.querySelector(`.${kind}`);
  if (!p) {
    p = document.createElement("p");
    p.className = `note ${kind}`;
    p.setAttribute("role", "status");
    if (kind === "raw-changed") p.id = kind;
    block.append(p);
  }
  p.textContent = text;
}

function clearNotes(block, kinds = ["changed", "raw-changed", "removed", "invalid"]) {
  for (const kind of kinds) for (const p of block.querySelectorAll(`.note.${kind}`)) p.remove();
}

// Drafts are dropped: every control shows what the page would save again.
function discardDrafts() {
  doc.rawDraft = null;
  doc.rawShown = null;
  const view = viewDoc();
  for (const input of draftInputs()) {
    input.value = String(get(view, input.dataset.field));
    clearNotes(input.closest(".field"));
  }
}

function fieldRow(name, value) {
  const row = document.createElement("div");
  row.className = "field";
  row.dataset.name = name;
  row.dataset.kind = kindOf(value);
  const label = document.createElement("label");
  const id = fieldId(name);
  label.htmlFor = id;
  label.textContent = fieldLabel(name);
  let input;
  if (row.dataset.kind === "json") {
    input = document.createElement("output");
    input.tabIndex = -1; // focused where a choice or a check puts the user on this field
    const where = document.createElement("p");
    where.className = "note";
    where.textContent = "Edit this value in the raw JSON below.";
    row.append(label, input, where);
  } else {
    input = document.createElement("input");
    input.name = name;
    input.type = { boolean: "checkbox", number: "number", string: "text" }[row.dataset.kind];
    if (input.type === "number") input.step = "any";
    if (input.type === "text") input.autocomplete = "off";
    row.append(label, input);
  }
  input.id = id;
  input.dataset.field = name;
  // A new box's text is its default value: setting `value` queues a selectionchange event
  // for the document, 5,000 of them for the rows of a 5 MB document.
  if (input.tagName === "INPUT" && input.type !== "checkbox") input.defaultValue = String(value);
  else showValue(input, value);
  if (input.type === "number") lockInexact(input, value);
  return row;
}

// A stored number the page cannot hold exactly is read-only in its box (its text is the
// browser's reading of it, and stepping it would send that reading), and says why.
function lockInexact(input, value) {
  const inexact = inexactNumber(value);
  if (input.readOnly === inexact) return;
  input.readOnly = inexact;
  const row = input.closest(".field");
  if (!row) return;
  if (inexact) note(row, "inexact", `Shown rounded, and not editable here: ${INEXACT}.`);
  else clearNotes(row, ["inexact"]);
}
