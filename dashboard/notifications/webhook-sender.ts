import type { AlertEvent } from './alert-event.js';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './webhook-signer.js';

/**
 * One webhook POST: the notification as JSON (the same bytes at every attempt and replay), signed
 * at the moment of sending, with a time-out. 2xx is delivered; anything else (another status, a
 * redirect, a refused or reset connection, no answer in time) is a failure the worker retries.
 */

/** The result of one attempt on any channel. */
export type SendOutcome = { ok: true; statusCode: number | null } | { ok: false; statusCode: number | null; error: string; permanent?: boolean };

/** The body receivers get (see docs/notifications.md). */
export interface WebhookPayload {
  /** The event's key: also the Punchgate-Event-Id header. */
  id: string;
  type: AlertEvent['kind'];
  /** True only for the sample events of the test button (POST /webhooks/:id/test). */
  test: boolean;
  /** When the notification was made. */
  createdAt: string;
  occurredAt: string;
  employee: AlertEvent['employee'];
  managers: AlertEvent['managers'];
  siteId: string | null;
  workDate: string | null;
  details: AlertEvent['details'];
}

export function webhookPayload(event: AlertEvent, createdAt: string, test = false): WebhookPayload {
  return {
    id: event.key,
    type: event.kind,
    test,
    createdAt,
    occurredAt: event.occurredAt,
    employee: event.employee,
    managers: event.managers,
    siteId: event.siteId ?? null,
    workDate: event.workDate ?? null,
    details: event.details,
  };
}

export interface WebhookRequest {
  url: string;
  secret: string;
  /** The raw body, exactly as signed and sent. */
  body: string;
  eventId: string;
  deliveryId: string;
  /** Unix seconds for the signature's `t`. */
  timestampSeconds: number;
  timeoutMs: number;
  /** Aborts the request (the worker stopping); reported as a failure named 'aborted'. */
  signal?: AbortSignal;
}

export const USER_AGENT = 'punchgate-webhooks/1';
const MAX_ANSWER_IN_ERROR = 200;

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (error instanceof Error && error.name === 'AbortError') return 'aborted: the dashboard is stopping';
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const detail = cause && typeof cause.message === 'string' ? `${typeof cause.code === 'string' ? `${cause.code}: ` : ''}${cause.message}` : undefined;
    return detail ? `${error.message} (${detail})` : error.message;
  }
  return String(error);
}

export async function postWebhook(request: WebhookRequest): Promise<SendOutcome> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      // A redirect is a failure: the secret's signature is for this URL's owner only.
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': USER_AGENT,
        [SIGNATURE_HEADER]: signatureHeader(request.secret, request.body, request.timestampSeconds),
        [EVENT_ID_HEADER]: request.eventId,
        [DELIVERY_ID_HEADER]: request.deliveryId,
      },
      body: request.body,
    });
    // Read (a little of) the answer, so that the connection can be reused, and for the log.
    const answer = (await response.text()).slice(0, MAX_ANSWER_IN_ERROR).trim();
    if (response.status >= 200 && response.status < 300) return { ok: true, statusCode: response.status };
    const what = response.status >= 300 && response.status < 400 ? `redirect to ${response.headers.get('location') ?? '?'} (not followed)` : `HTTP ${response.status}`;
    return { ok: false, statusCode: response.status, error: answer ? `${what}: ${answer}` : what };
  } catch (error) {
    return { ok: false, statusCode: null, error: describeFetchError(error, request.timeoutMs) };
  }
}
