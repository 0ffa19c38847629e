// What an answer means to the editor, and when to send a request again.
//
// Only "no answer" (a network error, or a 2xx whose body was cut off) and a 5xx are worth
// sending again, unchanged: the server did not decide. A 4xx is its decision about that
// very request, so sending it again would get the same answer: the page shows it instead.
"use strict";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 4000;
const RETRY_AFTER_MAX_MS = 60_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One request that never throws: {response, body}. response is null when no answer came
// (a network error, or a 2xx whose body was cut off); body is the parsed JSON, or null.
async function call(url, init = {}) {
  let response;
  try {
    response = await authorizedFetch(url, { cache: "no-store", ...init });
  } catch (error) {
    return { response: null, body: null };
  }
  try {
    return { response, body: await response.json() };
  } catch (error) {
    // A refusal that is not JSON still says what it is by its status; a 2xx must be read.
    const unread = response.ok && response.status !== 204;
    return { response: unread ? null : response, body: null };
  }
}

// Worth sending again as it is: there was no answer, or the server could not decide (5xx).
const unanswered = (answer) => answer.response === null || answer.response.status >= 500;

function retryingText(answer) {
  if (answer.response === null) return "Offline, retrying";
  return `Server unavailable (${answer.response.status}), retrying`;
}

// RFC 9110 §10.2.3: Retry-After in seconds, when given; else the back-off with jitter.
function retryWait(answer, backoff) {
  const header = answer.response && answer.response.headers.get("Retry-After");
  if (header && /^\s*\d+\s*$/.test(header)) return Math.min(Number(header) * 1000, RETRY_AFTER_MAX_MS);
  return backoff * (0.75 + Math.random() / 2);
}

// A 403 as the user reads it: the service knows who is asking, and that caller lacks the
// right (the problem says nothing more, by design). `what` is "read" or "write to".
const forbidden = (what) => `You don't have the right to ${what} this collection`;

// A refusal as the user reads it: the problem's title and detail (RFC 9457), or the status.
function refusal(answer) {
  const problem = isObject(answer.body) ? answer.body : {};
  const title = get(problem, "title");
  const detail = get(problem, "detail");
  const text = typeof title === "string" && title ? title : `HTTP ${answer.response.status}`;
  return typeof detail === "string" && detail ? `${text} (${detail})` : text;
}

const problemType = (answer) => String(isObject(answer.body) ? get(answer.body, "type") : "");

