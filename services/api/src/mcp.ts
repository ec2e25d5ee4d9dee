import type { FastifyInstance } from 'fastify';
import { jsonError } from '../../kit/src/index.js';
import type { RouteOptions } from './organisations.js';

const schema = { hide: true };

/**
 * The organisation operations as MCP tools at `/mcp` (Streamable HTTP, stateless: a server and
 * a transport per request; mcp-server.ts). The MCP SDK and zod took 0.17 s of the api's start
 * (919 ms against 746 ms, docs/performance.md), so they load on the first call to `/mcp`.
 */
export function mcp(app: FastifyInstance, { read }: RouteOptions): void {
  let mcpServer: Promise<typeof import('./mcp-server.js')> | undefined;
  app.post('/mcp', { preHandler: read, schema }, async (request, reply) => {
    mcpServer ??= import('./mcp-server.js');
    await (await mcpServer).handleMcp(app, request, reply);
  });

  // Stateless: no server-sent event stream to open and no session to end.
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      schema,
      handler: (_request, reply) =>
        jsonError(
          reply.header('allow', 'POST'),
          405,
          'method_not_allowed',
          'this MCP endpoint is stateless: POST only',
        ),
    });
  }
}
