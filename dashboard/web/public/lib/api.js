// @ts-check
/**
 * Calls to /api/v1 as the signed-in browser: the session cookie goes by itself (same origin,
 * http-only), and every state-changing request carries the session's CSRF token.
 */

/** @typedef {{in: string, field: string, message: string}} FieldIssue */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {any} body
   */
  constructor(status, body) {
    super(typeof body?.error === 'string' ? body.error : typeof body?.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    /** @type {FieldIssue[]} */
    this.issues = Array.isArray(body?.issues) ? body.issues : [];
    /** @type {string | undefined} */
    this.code = typeof body?.code === 'string' ? body.code : undefined;
  }

  /** The server has no such route (yet): the feature is not available on this dashboard. */
  get missing() {
    return (this.status === 404 || this.status === 405) && typeof this.body?.message === 'string' && /^Route /.test(this.body.message);
  }
}

/** @type {string | null} */
let csrfToken = null;

/** @param {string | null} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** Where a browser whose session ended goes: the sign-in page, coming back here afterwards. */
export function signInUrl() {
  const config = JSON.parse(document.body.dataset.config ?? '{}');
  return `${config.signInPath ?? '/sign-in'}?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/**
 * @param {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @param {string} path under /api/v1
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  return send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : 'application/json');
}

/**
 * Sends a file's bytes as they are (a CSV import), with the CSRF token like {@link api}.
 * @param {'POST' | 'PUT'} method
 * @param {string} path under /api/v1
 * @param {Blob | ArrayBuffer} body
 * @param {string} contentType
 * @returns {Promise<any>}
 */
export function upload(method, path, body, contentType) {
  return send(method, path, body, contentType);
}

/**
 * @param {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @param {string} path
 * @param {BodyInit | undefined} body
 * @param {string | undefined} contentType
 */
async function send(method, path, body, contentType) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (contentType) headers['content-type'] = contentType;
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body }),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text.slice(0, 200) };
  }
  if (response.status === 401 && !path.startsWith('/session')) {
    // The session ended (idle, expired, signed out elsewhere): sign in again, then come back.
    location.assign(signInUrl());
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** @param {string} path @returns {Promise<any>} */
export const get = (path) => api('GET', path);

/**
 * A query string from the given values (empty ones left out), with its `?`.
 * @param {Record<string, string | number | boolean | null | undefined>} values
 */
export function query(values) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** @param {string} segment */
export const enc = (segment) => encodeURIComponent(segment);
