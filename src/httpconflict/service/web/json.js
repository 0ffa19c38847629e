// JSON values as the editor handles them: field names are any JSON string.
//
// A field may be called "__proto__", "toString", "constructor", "" or "a/b~c". On a plain
// object `name in obj` is true for "toString" whether or not the field is there, and
// `obj[name] = v` with "__proto__" replaces the object's prototype instead of adding a
// field (so JSON.stringify drops it). Documents therefore are only ever read with `has`
// and `get` (own properties) and written with `put` (defineProperty), never with `in` or
// an assignment to a computed name. JSON.parse and object spread already make own
// properties, "__proto__" included.
"use strict";

const has = (obj, name) => Object.hasOwn(obj, name);
const get = (obj, name) => (Object.hasOwn(obj, name) ? obj[name] : undefined);

function put(obj, name, value) {
  Object.defineProperty(obj, name, { value, writable: true, enumerable: true, configurable: true });
  return obj;
}

// A random UUID (version 4). crypto.randomUUID is only there in a secure context;
// crypto.getRandomValues is there on a page served over plain HTTP too.
function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

// A number JSON cannot carry: JSON.parse reads 1e400 as Infinity, which JSON.stringify
// would send as null, and a merge patch reads null as "remove the field".
function nonFiniteNumber(value) {
  if (typeof value === "number") return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(nonFiniteNumber);
  if (isObject(value)) return Object.values(value).some(nonFiniteNumber);
  return false;
}

// An integer past 2^53 (9007199254740991), which the page cannot hold exactly: a double has
// 53 bits, so JSON.parse reads a stored 9007199254740993 as 9007199254740992, and a page
// that sent back what it holds would store another number (ArrowUp on such a counter stored
// one less). Such a number is shown as the browser reads it and never sent from the page.
function inexactNumber(value) {
  if (typeof value === "number") return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(inexactNumber);
  if (isObject(value)) return Object.values(value).some(inexactNumber);
  return false;
}

const INEXACT = "a whole number past 9007199254740991 (2^53 - 1) is not held exactly by a browser: " +
  "set it with an HTTP client";

// The merge patch that turns `from` into `to` (RFC 7396 §2, inverted).
function mergeDiff(from, to) {
  if (!isObject(from) || !isObject(to)) return to;
  const patch = {};
  for (const k of Object.keys(from)) if (!has(to, k)) put(patch, k, null);
  for (const k of Object.keys(to)) {
    if (!has(from, k)) put(patch, k, to[k]);
    else if (!jsonEqual(from[k], to[k])) put(patch, k, mergeDiff(from[k], to[k]));
  }
  return patch;
}

// RFC 7396 §2: `patch` applied to `target` (null removes a member, an object merges).
function applyMergePatch(target, patch) {
  if (!isObject(patch)) return patch;
  const out = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else put(out, k, applyMergePatch(get(out, k), v));
  }
  return out;
}

// The top-level changes from `from` to `to`, as pending entries: {v: value} or {d: true}.
function topLevelChanges(from, to) {
  const changes = {};
  for (const k of Object.keys(from)) if (!has(to, k)) put(changes, k, { d: true });
  for (const k of Object.keys(to)) {
    if (!has(from, k) || !jsonEqual(from[k], to[k])) put(changes, k, { v: to[k] });
  }
  return changes;
}

function applyPending(doc, pending) {
  const out = { ...doc };
  for (const [k, entry] of Object.entries(pending)) {
    if (entry.d) delete out[k];
    else put(out, k, entry.v);
  }
  return out;
}

// RFC 6901 §4: "~1" is "/" and "~0" is "~", decoded in that order.
function pointerTokens(pointer) {
  return pointer === "" ? [] : pointer.slice(1).split("/").map(
    (t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

// The pointer of a top-level field (RFC 6901 §3: "~" written "~0", "/" written "~1").
const fieldPointer = (name) => "/" + name.replace(/~/g, "~0").replace(/\//g, "~1");

// Whether two documents hold the same top-level field: both without it, or equal values.
const sameField = (a, b, name) => has(a, name) === has(b, name) && jsonEqual(get(a, name), get(b, name));

// The value at `pointer` in `doc`: {present, value}.
function atPointer(doc, pointer) {
  let node = doc;
  for (const t of pointerTokens(pointer)) {
    if (!isObject(node) || !has(node, t)) return { present: false, value: undefined };
    node = node[t];
  }
  return { present: true, value: node };
}

function setAtPointer(doc, pointer, present, value) {
  const tokens = pointerTokens(pointer);
  if (tokens.length === 0) return present ? value : {};
  const root = structuredClone(doc);
  let node = root;
  for (const t of tokens.slice(0, -1)) {
    if (!isObject(get(node, t))) put(node, t, {});
    node = node[t];
  }
  const last = tokens[tokens.length - 1];
  if (present) put(node, last, value);
  else delete node[last];
  return root;
}

// How a field's name is shown: as typed, or as a JSON string literal when as typed it
// would be invisible or ambiguous (empty, spaces at an end, control characters, a quote
// first), so that two fields never look alike.
// Invisible or look-alike makers are written as \u escapes there: format characters
// (zero-width spaces, right-to-left overrides), line and paragraph separators, and the
// combining marks of a name not in Unicode's NFC form (its "e\u0301" shows as "é" too).
// (The joiner and tags inside emoji sequences are format characters too, and stay.)
const HIDDEN = /(?![\u200d\u{e0020}-\u{e007f}])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function fieldLabel(name) {
  const composed = name === name.normalize("NFC");
  const plain = name !== "" && name === name.trim() && !HIDDEN.test(name) && composed &&
    !name.startsWith('"');
  if (plain) return name;
  const hidden = composed ? /(?![\u200d\u{e0020}-\u{e007f}])[\p{Cf}\p{Zl}\p{Zp}]/gu : /[\p{Cf}\p{Zl}\p{Zp}\p{M}]/gu;
  return JSON.stringify(name).replace(hidden, (c) => `\\u${c.codePointAt(0).toString(16).padStart(4, "0")}`);
}

// What a conflict's pointer is called on the page: the field's name for a top-level field.
function pointerLabel(pointer) {
  const tokens = pointerTokens(pointer);
  if (tokens.length === 0) return "(whole document)";
  return tokens.length === 1 ? fieldLabel(tokens[0]) : pointer;
}
