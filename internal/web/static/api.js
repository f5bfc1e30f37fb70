// api.js: the HTTP API as the page uses it. Every request goes to the same
// origin with the session cookie; the token itself is sent once, in the body
// of POST /v1/session, and kept nowhere.

/** ApiError is a failed API call, with the daemon's stable code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** unauthorized is called when any request answers 401 (set by the app). */
export const hooks = { unauthorized: () => {} };

/**
 * call sends one request and returns the reply's result, or throws ApiError.
 * @param {string} method
 * @param {string} path  starting with /v1/
 * @param {object} [body] sent as JSON
 */
export async function call(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json' },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'offline', 'gophone did not answer (is the daemon running?)');
  }
  let reply = null;
  const text = await res.text();
  try {
    reply = text ? JSON.parse(text) : null;
  } catch {
    reply = null;
  }
  if (res.status === 401) {
    hooks.unauthorized();
  }
  if (reply && reply.ok === true) {
    return reply.result;
  }
  if (reply && reply.error) {
    throw new ApiError(res.status, reply.error.code || 'error', reply.error.message || res.statusText);
  }
  if (res.ok) {
    return reply && 'result' in reply ? reply.result : reply;
  }
  throw new ApiError(res.status, 'http_' + res.status, `HTTP ${res.status} ${res.statusText}`.trim());
}

/** describe renders an error for people: what failed, why, and the code. */
export function describe(what, err) {
  if (!(err instanceof ApiError)) {
    return `${what} failed: ${sentence(err && err.message ? err.message : String(err))}`;
  }
  if (err.code === 'unavailable') {
    return `${what} is not available: ${sentence(err.message)}`;
  }
  if (err.status === 401) {
    return `${what} failed: you are signed out.`;
  }
  return `${what} failed: ${err.message} (${err.code}).`;
}

const sentence = (s) => (/[.!?]$/.test(s) ? s : s + '.');

/** signIn exchanges the token for the session cookie. */
export function signIn(token) {
  return call('POST', '/v1/session', { token });
}

/** signOut ends the session (the cookie is cleared by the daemon). */
export function signOut() {
  return call('DELETE', '/v1/session');
}

/** callPath builds /v1/calls/{id}/{action} with the id escaped. */
export function callPath(id, action) {
  return `/v1/calls/${encodeURIComponent(id)}/${action}`;
}
