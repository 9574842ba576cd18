import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../auth/index.js';
import { ScopeError } from '../auth/integration-clients.js';

/**
 * POST /api/v1/oauth/token: the OAuth 2.0 token endpoint for integration clients, client
 * credentials grant only (RFC 6749 §4.4). Public (the client authenticates here, with its id and
 * secret: HTTP Basic as §2.3.1 prefers, or `client_id` and `client_secret` in the body), rate
 * limited per address and client id like sign-in. Parameters come form-encoded as the RFC says
 * (`application/x-www-form-urlencoded`, parsed here, in this plugin's scope only) or as JSON.
 *
 * Success: 200 `{access_token, token_type: "Bearer", expires_in, scope}`. Errors: §5.2 exactly,
 * `{error, error_description}` with 400, or 401 and `WWW-Authenticate: Basic` for
 * `invalid_client`. Every answer carries `Cache-Control: no-store` (§5.1). See docs/integrations.md.
 */

export interface OAuthRoutesOptions {
  auth: Auth;
}

export const OAUTH_TOKEN_PATH = '/oauth/token';

export const OAuthErrorCode = z.enum(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);
export type OAuthErrorCode = z.infer<typeof OAuthErrorCode>;

const OAuthErrorBody = z.object({ error: OAuthErrorCode, error_description: z.string() });

const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  /** Seconds from now until the token stops working. */
  expires_in: z.number().int(),
  /** The scopes granted, space-separated. */
  scope: z.string(),
});

/** What the body may carry (for the OpenAPI document; the handler checks it itself, to answer in RFC 6749's terms). */
const TokenRequestDoc = z.object({
  grant_type: z.literal('client_credentials'),
  scope: z.string().optional().describe('space-separated; a subset of the client\'s scopes (default: all of them)'),
  client_id: z.string().optional().describe('only without HTTP Basic authentication'),
  client_secret: z.string().optional().describe('only without HTTP Basic authentication'),
});

/** The largest token request we read: a few short parameters. */
const BODY_LIMIT = 8 * 1024;

class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly code: OAuthErrorCode,
    description: string,
  ) {
    super(description);
  }
}

/**
 * RFC 6749 §3.2 and §3.1: form parameters arrive once each (a repeat is kept as a list, to be
 * refused), form-decoded (`+` and `%XX`) by URLSearchParams.
 */
function parseForm(text: string): Record<string, string | string[]> {
  const parameters: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const earlier = parameters[name];
    parameters[name] = earlier === undefined ? value : [earlier, value].flat();
  }
  return parameters;
}

/** The request's parameters as single strings; a parameter sent without a value counts as omitted (§3.1). */
function parametersOf(body: unknown): Map<string, string> {
  if (body === undefined || body === null) return new Map();
  if (typeof body !== 'object' || Array.isArray(body)) throw new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded (or a JSON object)');
  const parameters = new Map<string, string>();
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new OAuthError('invalid_request', `${name} is given more than once`);
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be a string`);
    if (value !== '') parameters.set(name, value);
  }
  return parameters;
}

/** `application/x-www-form-urlencoded` decoding, as §2.3.1 asks of the id and secret inside HTTP Basic. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** The client's credentials from `Authorization: Basic`; undefined without such a header (another scheme is not ours to judge). */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (header === undefined || !/^Basic(\s|$)/i.test(header)) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'the Basic credentials are not base64 of client_id:client_secret');
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'the Basic credentials are not form-encoded client_id:client_secret');
  }
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by spaces. */
function scopesOf(scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined;
  const tokens = scope.split(' ').filter((token) => token !== '');
  if (tokens.some((token) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(token))) throw new OAuthError('invalid_scope', 'scope is a space-separated list of scope names');
  return tokens;
}

/** The client id a request names (Basic or body), for the rate limit's key; never throws. */
function claimedClientId(request: FastifyRequest): string {
  try {
    const basic = basicCredentials(request.headers.authorization);
    if (basic) return basic.clientId;
  } catch {
    // A malformed header is refused later; for the key, the address alone will do.
  }
  const body = request.body as Record<string, unknown> | undefined;
  return typeof body?.client_id === 'string' ? body.client_id : '';
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

async function sendError(reply: FastifyReply, error: OAuthError, status?: number): Promise<FastifyReply> {
  noStore(reply);
  if (error.code === 'invalid_client') void reply.header('www-authenticate', 'Basic realm="punchgate", charset="UTF-8"');
  // Serialised here: the 429 and the framework's own errors have no route schema of this shape.
  return reply
    .code(status ?? (error.code === 'invalid_client' ? 401 : 400))
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send({ error: error.code, error_description: error.message });
}

export const oauthRoutes: FastifyPluginAsync<OAuthRoutesOptions> = async (app, options) => {
  const { auth } = options;
  // Only here (this plugin's context): the rest of the API takes JSON alone.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    done(null, parseForm(String(body)));
  });
  // Malformed JSON, an unknown content type, a body too large, too many requests: said in RFC 6749's terms.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) throw error;
    if (status === 429) return sendError(reply, new OAuthError('invalid_request', error.message), 429);
    request.log.info({ err: error }, 'token request refused before it was read');
    const message = status === 415 ? 'send the parameters as application/x-www-form-urlencoded (or JSON)' : error.message;
    return sendError(reply, new OAuthError('invalid_request', message));
  });

  app.withTypeProvider<ZodTypeProvider>().post(
    OAUTH_TOKEN_PATH,
    {
      config: {
        permission: 'public',
        // Attempts per (address, client id) per minute, whatever their outcome: as sign-in.
        rateLimit: {
          max: auth.settings.loginAttemptsPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request) => `${request.ip}\n${claimedClientId(request)}`,
        },
      },
      bodyLimit: BODY_LIMIT,
      // The handler reads the parameters itself, to answer each problem with its RFC 6749 error
      // code rather than a generic 400; the schema is there for the OpenAPI document.
      attachValidation: true,
      schema: {
        description:
          'OAuth 2.0 client credentials (RFC 6749 §4.4) for integration clients: authenticate with HTTP Basic (client_id:client_secret) or client_id and client_secret in the body; get a bearer access token for /api/v1 limited to the scopes granted. Errors as RFC 6749 §5.2.',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenRequestDoc,
        response: { 200: TokenResponse, 400: OAuthErrorBody, 401: OAuthErrorBody, 429: OAuthErrorBody },
      },
    },
    async (request, reply) => {
      try {
        const parameters = parametersOf(request.body);
        const grantType = parameters.get('grant_type');
        if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is missing: send grant_type=client_credentials');
        if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported: only client_credentials is`);

        const basic = basicCredentials(request.headers.authorization);
        const bodyId = parameters.get('client_id');
        const bodySecret = parameters.get('client_secret');
        if (basic && bodySecret !== undefined) throw new OAuthError('invalid_request', 'authenticate one way only: HTTP Basic or client_id and client_secret in the body, not both');
        if (basic && bodyId !== undefined && bodyId !== basic.clientId) throw new OAuthError('invalid_request', 'client_id in the body is not the one in the Basic credentials');
        const credentials = basic ?? (bodyId !== undefined && bodySecret !== undefined ? { clientId: bodyId, clientSecret: bodySecret } : undefined);
        if (!credentials) throw new OAuthError('invalid_client', 'authenticate the client: HTTP Basic with client_id:client_secret, or client_id and client_secret in the body');
        const requested = scopesOf(parameters.get('scope'));

        const client = await auth.clients.authenticate(credentials.clientId, credentials.clientSecret);
        if (!client) {
          request.log.warn({ clientId: credentials.clientId.slice(0, 64), ip: request.ip }, 'token request: client authentication failed');
          throw new OAuthError('invalid_client', 'client authentication failed (unknown client, wrong secret or revoked client)');
        }
        let issued;
        try {
          issued = await auth.clients.issueToken(client, requested);
        } catch (error) {
          if (error instanceof ScopeError) throw new OAuthError('invalid_scope', error.message);
          throw error;
        }
        request.log.info({ clientId: client.clientId, scopes: issued.scopes, ip: request.ip }, 'token issued');
        return noStore(reply).send({ access_token: issued.accessToken, token_type: 'Bearer' as const, expires_in: issued.expiresIn, scope: issued.scopes.join(' ') });
      } catch (error) {
        if (error instanceof OAuthError) return sendError(reply, error);
        throw error;
      }
    },
  );
};
