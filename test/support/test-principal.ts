import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { can, Role, type Principal } from '../../dashboard/auth/permissions.js';

/**
 * TEST ONLY: a stand-in for the auth plugin. The principal comes from the `x-test-principal`
 * header (JSON), and each route's declared permission is enforced as the real plugin does:
 * 401 without a principal, 403 when its role lacks the permission, and a route that declares no
 * permission fails loudly (500), so a test also proves every route declares one.
 */
export const TEST_PRINCIPAL_HEADER = 'x-test-principal';

export function principalHeader(principal: Principal): Record<string, string> {
  return { [TEST_PRINCIPAL_HEADER]: JSON.stringify(principal) };
}

export function testPrincipal(role: Role, sites: Principal['sites'] = 'all', id = `${role}-1`): Principal {
  return { kind: 'user', id, name: `Test ${role}`, role, sites };
}

/** A Fastify app with the zod compilers and the test principal hook; register plugins under `prefix`. */
export function buildTestApp(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', async (request, reply) => {
    // No route matched: let Fastify answer 404.
    if (request.routeOptions.url === undefined) return;
    const permission = request.routeOptions.config.permission;
    if (permission === 'public') return;
    if (permission === undefined) {
      await reply.code(500).send({ error: `route ${request.routeOptions.url ?? request.url} declares no permission` });
      return;
    }
    const header = request.headers[TEST_PRINCIPAL_HEADER];
    if (typeof header !== 'string') {
      await reply.code(401).send({ error: 'no principal' });
      return;
    }
    const principal = JSON.parse(header) as Principal;
    Role.parse(principal.role);
    if (!can(principal, permission)) {
      await reply.code(403).send({ error: `${principal.role} may not ${permission}` });
      return;
    }
    request.principal = principal;
  });
  return app;
}
