import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/** Sign-in helpers for dashboard tests that go through the real auth plugin with app.inject(). */

export interface SignedIn {
  status: number;
  body: Record<string, unknown>;
  /** `name=value` of the session cookie, for a `cookie` header; undefined when sign-in failed. */
  cookie: string | undefined;
  /** The whole Set-Cookie header of the session cookie (attributes included). */
  setCookie: string | undefined;
  csrfToken: string | undefined;
}

export function sessionSetCookie(response: LightMyRequestResponse): string | undefined {
  const header = response.headers['set-cookie'];
  const all = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return all.find((value) => /^(__Host-)?punchgate_session=/.test(value));
}

export async function signIn(http: FastifyInstance, username: string, password: string, remoteAddress = '127.0.0.1'): Promise<SignedIn> {
  const response = await http.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password }, remoteAddress });
  const setCookie = sessionSetCookie(response);
  const body = response.json<Record<string, unknown>>();
  return {
    status: response.statusCode,
    body,
    cookie: setCookie?.split(';')[0],
    setCookie,
    csrfToken: typeof body.csrfToken === 'string' ? body.csrfToken : undefined,
  };
}

/** Headers for a request made as a signed-in browser: the cookie, and the CSRF token when given. */
export function asBrowser(session: Pick<SignedIn, 'cookie' | 'csrfToken'>, withCsrf = true): Record<string, string> {
  return { ...(session.cookie ? { cookie: session.cookie } : {}), ...(withCsrf && session.csrfToken ? { 'x-csrf-token': session.csrfToken } : {}) };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
