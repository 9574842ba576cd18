/**
 * The provisioning CLI talks to a running dashboard over its REST API, never to its database:
 * changes then go through the dashboard's own checks, audit log and config push, so that the
 * gateways hear of them at once. The dashboard and a token come from flags or the environment.
 */

export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const CONNECTION_USAGE = `  --url URL      the dashboard (default: $PUNCHGATE_URL, else http://127.0.0.1:8000)
  --token TOKEN  an API token (pgt_...) with the needed permission (default: $PUNCHGATE_TOKEN)`;

export interface Connection {
  url: string;
  token: string;
}

/** The connection from flags and environment, or a message naming what is missing. */
export function connectionOf(values: { url?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Connection | string {
  const url = (values.url ?? env.PUNCHGATE_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
  const token = values.token ?? env.PUNCHGATE_TOKEN;
  if (!/^https?:\/\/[^\s]+$/.test(url)) return `--url "${url}" is not an http:// or https:// URL`;
  if (!token) return 'an API token is needed: --token pgt_... or PUNCHGATE_TOKEN (make one in the console under Tokens, or use the one the dashboard printed at first start)';
  return { url, token };
}

/** A refusal from the dashboard (or no answer at all), with the message to print. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** `{error, issues}` bodies as one readable paragraph. */
export function describeRefusal(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const { error, issues } = body as { error: unknown; issues?: Array<{ field?: string; message?: string }> };
    const details = (issues ?? []).map((issue) => `\n  ${issue.field ? `${issue.field}: ` : ''}${issue.message ?? ''}`).join('');
    return `the dashboard refused (HTTP ${status}): ${String(error)}${details}`;
  }
  return `the dashboard answered HTTP ${status}`;
}

/** A request with the token; answers the fetch Response, or throws ApiError when nothing answered. */
export async function request(connection: Connection, method: string, path: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
  try {
    return await fetch(`${connection.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${connection.token}`, ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ApiError(`cannot reach the dashboard at ${connection.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, undefined, undefined);
  }
}

/** A JSON request; resolves to the body of a 2xx answer, throws ApiError with the refusal otherwise. */
export async function requestJson<T>(connection: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(connection, method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!response.ok) throw new ApiError(describeRefusal(response.status, parsed), response.status, parsed);
  return parsed as T;
}
