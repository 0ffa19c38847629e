// Signing in to a service that asks who is calling: the bearer token, and the one fetch
// wrapper every request of the page goes through.
//
// Theory of operation. The token lives in sessionStorage (this tab only, gone when it
// closes), never in localStorage, a URL, the page's text or the console; this file is the
// only one that reads it, and only to put it in an Authorization header (RFC 6750 §2.1).
// A 401 whose WWW-Authenticate names the Bearer scheme asks "who are you?": the page shows
// the sign-in form, and each request that got one waits there until the user types a
// token, then is sent once more with it. A token the service refuses is cleared, and the
// form says so and waits again: a request is only sent again with a token other than the
// one just refused, that is after the user typed one, so a wrong token never loops. A 403
// is not about the token (the caller is known and lacks the right): it is an answer like
// any other 4xx, shown by the page and never sent again.
"use strict";

const TOKEN_KEY = "httpconflict.token";

// While the form is shown: {promise, resolve, before}; every request that got a 401
// awaits the one promise, which the form resolves when a token is typed.
let signIn = null;

const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
const signingIn = () => signIn !== null;

// RFC 6750 §3: "the resource server MUST include the HTTP WWW-Authenticate response
// header field"; its auth-scheme is case-insensitive (RFC 9110 §11.1).
const asksForBearer = (response) =>
  /(^|,)\s*bearer(\s|,|$)/i.test(response.headers.get("WWW-Authenticate") || "");

// fetch() with the token, if there is one; a 401 Bearer challenge waits for the user's
// token and sends the request again with it. Throws only what fetch() throws.
async function authorizedFetch(url, init = {}) {
  for (;;) {
    const token = storedToken();
    const headers = new Headers(init.headers);
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    const response = await fetch(url, { ...init, headers });
    if (response.status !== 401 || !asksForBearer(response)) return response;
    await tokenWanted(token, await refusalText(response, token));
  }
}

// What the service said about a refused token, unless it would show the token itself.
async function refusalText(response, token) {
  if (token === null) return "";
  let detail = "";
  try {
    const problem = await response.json();
    if (isObject(problem) && typeof get(problem, "detail") === "string") detail = get(problem, "detail");
  } catch (error) { /* not JSON: the status says enough */ }
  return detail && !detail.includes(token) ? ` (${detail})` : "";
}

// Resolves when there is a token other than `refused` to try.
function tokenWanted(refused, why) {
  const current = storedToken();
  if (current !== null && current !== refused) return Promise.resolve(); // typed meanwhile
  if (refused === null) {
    askForToken("This service needs an access token. Type yours to continue.");
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    feedTokenChanged();
    askForToken(`The service did not accept that token${why}. Check it and type it again, or use another.`, true);
  }
  return signIn.promise;
}

function askForToken(reason, refused = false) {
  $("sign-out").hidden = true;
  $("sign-in-reason").textContent = reason;
  $("sign-in-reason").classList.toggle("error", refused);
  if (signIn === null) {
    const region = $("save-state");
    const before = { state: region.dataset.state, text: region.textContent };
    let resolve;
    const promise = new Promise((done) => { resolve = done; });
    signIn = { promise, resolve, before };
    setState("signin", "Sign in to continue");
  }
  $("sign-in").hidden = false;
  $("token").focus();
}

function tokenTyped(event) {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  input.value = "";
  if (token === "") {
    $("sign-in-reason").textContent = "Type a token first.";
    $("sign-in-reason").classList.add("error");
    input.focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  feedTokenChanged();
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  if (signIn !== null) {
    const { resolve, before } = signIn;
    signIn = null;
    setState(before.state, before.text); // the requests sent again say what became of them
    resolve();
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  feedTokenChanged();
  askForToken("Signed out. Type a token to sign in again.");
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", tokenTyped);
  $("sign-out").addEventListener("click", signOut);
  $("sign-out").hidden = storedToken() === null;
});
