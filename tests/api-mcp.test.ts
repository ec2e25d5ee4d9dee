// The api's MCP endpoint (Streamable HTTP) against the running stack, with the official SDK's
// client: initialize, list the tools, call them, and be refused without a token.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { stack } from './helpers/stack.js';
import { newTenant } from './helpers/tenant.js';

const s = stack();

/** An MCP client of the api with `token`, closed when the test ends. */
async function mcpClient(t: Test, token: string): Promise<Client> {
  const client = new Client({ name: 'realstack-test', version: '0.1.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${s.api}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  t.teardown(() => client.close());
  return client;
}

t.test('MCP: initialize, list the tools, call them with the caller’s token and tenancy', async (t) => {
  const alice = await newTenant(t);
  const client = await mcpClient(t, alice.token);
  t.equal(client.getServerVersion()?.name, 'realstack-api', 'initialized');

  const { tools } = await client.listTools();
  t.same(tools.map((x) => x.name).sort(), [
    'create_organisation',
    'get_active_organisation',
    'list_organisations',
    'set_active_organisation',
  ]);

  const name = `TEST ${s.runId} via MCP`;
  const created = await client.callTool({ name: 'create_organisation', arguments: { name } });
  t.notOk(created.isError, 'created');
  const org = JSON.parse((created.content as { text: string }[])[0]?.text as string) as {
    id: string;
    role: string;
  };
  t.teardown(() => alice.call('DELETE', `/v1/organisations/${org.id}`));
  t.equal(org.role, 'owner');
  const listed = await client.callTool({ name: 'list_organisations', arguments: { name: 'via MCP' } });
  const items = JSON.parse((listed.content as { text: string }[])[0]?.text as string).items as {
    id: string;
  }[];
  t.same(
    items.map((o) => o.id),
    [org.id],
    'the tool sees what the caller sees',
  );
  const set = await client.callTool({ name: 'set_active_organisation', arguments: { id: org.id } });
  t.notOk(set.isError);
  const active = await client.callTool({ name: 'get_active_organisation', arguments: {} });
  t.equal(
    JSON.parse((active.content as { text: string }[])[0]?.text as string).id,
    org.id,
    'and REST agrees: one state',
  );

  const bob = await newTenant(t);
  const bobsClient = await mcpClient(t, bob.token);
  const foreign = await bobsClient.callTool({ name: 'set_active_organisation', arguments: { id: org.id } });
  t.ok(foreign.isError, "another tenant's organisation is refused");
  t.match((foreign.content as { text: string }[])[0]?.text, /not_found/);
});

t.test(
  'MCP: input no route could store is a 400 naming the field; arguments outside a tool schema a tool error',
  async (t) => {
    const alice = await newTenant(t);
    const client = await mcpClient(t, alice.token);
    // MCP's rule (tools, "Error Handling"): a failed tool call is a result with isError, in
    // words (another tenant's id, above: the route's own JSON error). Input no route could store
    // is refused before MCP reads it: an HTTP 400 naming the field, in JSON.
    const nul = client.callTool({ name: 'create_organisation', arguments: { name: 'TEST a\u0000b' } });
    await t.rejects(
      nul,
      /"invalid_request".*body\.params\.arguments\.name holds a NUL/,
      'a NUL: 400, the field named',
    );
    const wrongType = await client.callTool({ name: 'set_active_organisation', arguments: { id: 42 } });
    t.equal(wrongType.isError, true, 'arguments outside the tool schema: a tool error');
    t.match(
      (wrongType.content as { text: string }[])[0]?.text,
      /Invalid arguments for tool set_active_organisation/,
    );
  },
);

t.test('MCP without a token: 401 with WWW-Authenticate resource_metadata; GET is 405', async (t) => {
  const res = await request(`${s.api}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  t.equal(res.statusCode, 401);
  t.equal(
    res.headers['www-authenticate'],
    `Bearer resource_metadata="${s.api}/.well-known/oauth-protected-resource"`,
  );
  await res.body.dump();
  const get = await request(`${s.api}/mcp`);
  t.equal(get.statusCode, 405);
  await get.body.dump();
});
