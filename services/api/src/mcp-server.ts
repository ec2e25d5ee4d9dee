import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * The organisation operations as MCP tools. Each tool calls the api's own route with the
 * caller's token through `app.inject`, so validation, scopes, tenancy and row-level security
 * are the routes' own, and a tool can do exactly what the token can do over REST.
 */
function serverFor(app: FastifyInstance, request: FastifyRequest): McpServer {
  const server = new McpServer({ name: 'realstack-api', version: '0.1.0' });
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: request.headers.authorization as string },
      ...(payload ? { payload } : {}),
    });
    return {
      content: [{ type: 'text' as const, text: res.body }],
      ...(res.statusCode >= 400 ? { isError: true } : {}),
    };
  };
  server.registerTool(
    'list_organisations',
    {
      description: "The caller's organisations, optionally those whose name contains `name`",
      inputSchema: {
        name: z.string().max(200).optional(),
        limit: z.number().int().min(1).max(100).optional(),
      },
    },
    ({ name, limit }) =>
      call(
        'GET',
        `/v1/organisations?${new URLSearchParams({ ...(name ? { name } : {}), limit: String(limit ?? 20) })}`,
      ),
  );
  server.registerTool(
    'create_organisation',
    {
      description: 'Create an organisation; the caller becomes its owner (needs organisations:write)',
      inputSchema: { name: z.string().min(1).max(200), description: z.string().max(2000).optional() },
    },
    (args) => call('POST', '/v1/organisations', args),
  );
  server.registerTool('get_active_organisation', { description: "The caller's active organisation" }, () =>
    call('GET', '/v1/active-organisation'),
  );
  server.registerTool(
    'set_active_organisation',
    {
      description: 'Make one of the caller’s organisations the active one (needs organisations:write)',
      inputSchema: { id: z.string().uuid() },
    },
    ({ id }) => call('PUT', '/v1/active-organisation', { id }),
  );
  return server;
}

/** One POST to `/mcp`, stateless: a server and a transport of its own. */
export async function handleMcp(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const server = serverFor(app, request);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  reply.hijack();
  reply.raw.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(request.raw, reply.raw, request.body);
}
