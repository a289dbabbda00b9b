// The official TypeScript MCP client drives the built binary on the demo
// cluster, over stdio and streamable HTTP, in both protocol eras: it lists the
// tools and calls every one of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { MODERN_VERSION, connect, startHttpServer, startSim, textOf } from './lib.mjs';
import { badArgs, declaredArgs, ownArgs, toolArgs } from './tool-args.mjs';

const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const UNKNOWN_KEY = 'pvemcp_e2e_unknown';
// Tools that answer from the server itself, without a Proxmox API call.
const NO_API_CALL = new Set(['list_toolsets', 'enable_toolset']);

// Tool names each transport/era listed, compared at the end.
const listed = new Map();

// checkResult asserts the output contract of a successful call and returns
// its structured content.
function checkResult(name, args, res, stderr) {
  const text = textOf(res);
  const where = `${name}(${JSON.stringify(args)})`;
  assert.ok(!res.isError, `${where} returned a tool error: ${text}\nserver stderr:\n${stderr()}`);
  const sc = res.structuredContent;
  assert.ok(sc && typeof sc === 'object' && !Array.isArray(sc), `${where}: structuredContent missing or not an object`);
  const first = (res.content || []).find((c) => c.type === 'text');
  assert.ok(first, `${where}: no text content`);
  let parsed;
  try {
    parsed = JSON.parse(first.text);
  } catch (err) {
    assert.fail(`${where}: text content is not JSON (${err.message}): ${first.text.slice(0, 200)}`);
  }
  assert.deepEqual(parsed, sc, `${where}: text content is not the JSON of structuredContent`);
  assert.ok(Array.isArray(sc.sources) && (sc.sources.length > 0 || NO_API_CALL.has(name)), `${where}: no sources`);
  for (const s of sc.sources) {
    assert.equal(typeof s.method, 'string', `${where}: source without method: ${JSON.stringify(s)}`);
    assert.equal(typeof s.path, 'string', `${where}: source without path: ${JSON.stringify(s)}`);
    assert.equal(typeof s.status, 'number', `${where}: source without status: ${JSON.stringify(s)}`);
    assert.equal(typeof s.ms, 'number', `${where}: source without ms: ${JSON.stringify(s)}`);
  }
  assert.match(String(sc.fetched_at), RFC3339, `${where}: fetched_at is not RFC 3339`);
  return sc;
}

function requiredOf(tool) {
  return tool.inputSchema?.required || [];
}

// argsFor resolves the arguments a tool is called with (see tool-args.mjs).
async function argsFor(tool, call) {
  const entry = toolArgs[tool.name];
  if (typeof entry === 'function') return entry({ call });
  if (entry) return entry;
  const required = requiredOf(tool);
  assert.equal(
    required.length,
    0,
    `tool ${tool.name} requires ${required.join(', ')} but e2e/tool-args.mjs has no entry for it`,
  );
  return {};
}

// wrongValue returns a value of the wrong JSON type for a property schema, or
// undefined when the schema accepts several types.
function wrongValue(prop) {
  const type = prop?.type;
  if (typeof type !== 'string') return undefined;
  if (type === 'string') return 12345;
  if (type === 'array' || type === 'object' || type === 'boolean') return 'not-a-' + type;
  if (type === 'integer' || type === 'number') return 'not-a-number';
  return undefined;
}

async function expectToolError(client, name, args, mustName, stderr) {
  const where = `${name}(${JSON.stringify(args)})`;
  let res;
  try {
    res = await client.callTool({ name, arguments: args });
  } catch (err) {
    assert.fail(`${where}: expected a tool error (isError), got a protocol error: ${err.message}`);
  }
  const text = textOf(res);
  assert.equal(res.isError, true, `${where}: expected isError, got ${text.slice(0, 300)}\nserver stderr:\n${stderr()}`);
  assert.ok(text.includes(mustName), `${where}: error does not name "${mustName}": ${text}`);
}

const combos = [];
for (const transport of ['stdio', 'http']) {
  for (const era of ['modern', 'legacy']) combos.push({ transport, era });
}

for (const { transport, era } of combos) {
  describe(`official client over ${transport}, ${era} era`, () => {
    let server;
    let session;
    let tools;

    before(async () => {
      if (transport === 'http') server = await startHttpServer();
      session = await connect({ transport, era, server });
    });

    after(async () => {
      await session?.close();
      await server?.stop();
    });

    test('negotiates the requested protocol era', () => {
      const c = session.client;
      assert.equal(c.getProtocolEra(), era);
      if (era === 'modern') assert.equal(c.getNegotiatedProtocolVersion(), MODERN_VERSION);
      assert.equal(c.getServerVersion()?.name, 'pvemcp');
    });

    test('lists tools with title, all four hints and an output schema', async () => {
      ({ tools } = await session.client.listTools());
      const names = tools.map((t) => t.name);
      listed.set(`${transport}/${era}`, [...names].sort());
      for (const want of ['cluster_overview', 'list_guests', 'get_guest']) {
        assert.ok(names.includes(want), `tools/list lacks ${want}: ${names.join(', ')}`);
      }
      for (const t of tools) {
        assert.match(t.name, /^[a-z][a-z0-9_]*$/, `tool name ${t.name}`);
        const title = t.title || t.annotations?.title;
        assert.ok(title, `${t.name} has no title`);
        assert.ok(t.description, `${t.name} has no description`);
        for (const h of HINTS) {
          assert.equal(typeof t.annotations?.[h], 'boolean', `${t.name} does not set ${h}`);
        }
        if (t.annotations.readOnlyHint) {
          assert.equal(t.annotations.destructiveHint, false, `${t.name} is read-only and destructive`);
        }
        assert.equal(t.inputSchema?.type, 'object', `${t.name} input schema is not an object`);
        assert.equal(t.outputSchema?.type, 'object', `${t.name} has no object output schema`);
      }
    });

    test('calls every listed tool on the demo cluster', async (t) => {
      assert.ok(tools, 'tools/list did not run');
      const { client } = session;
      const call = async (name, args = {}) => {
        const res = await client.callTool({ name, arguments: args });
        return checkResult(name, args, res, session.stderr);
      };
      for (const tool of tools) {
        await t.test(tool.name, async () => {
          const args = await argsFor(tool, call);
          const sc = await call(tool.name, args);
          // Only confirm_plan may change anything: read tools read, and write
          // tools only plan (the approval gate).
          const writes = sc.sources.filter((s) => s.method !== 'GET');
          if (tool.name === 'confirm_plan') {
            assert.equal(sc.outcome, 'ok', `confirm_plan did not execute the plan: ${JSON.stringify(sc)}`);
            assert.ok(writes.length > 0, 'confirm_plan reports ok but made no state-changing call');
          } else {
            assert.deepEqual(writes, [], `${tool.name} made non-GET calls`);
          }
        });
      }
    });

    test('refuses bad arguments with a tool error naming the argument', async (t) => {
      assert.ok(tools, 'tools/list did not run');
      const { client } = session;
      const call = async (name, args = {}) => {
        const res = await client.callTool({ name, arguments: args });
        return checkResult(name, args, res, session.stderr);
      };
      for (const tool of tools) {
        await t.test(`${tool.name}: unknown argument`, async () => {
          const args = { ...(await argsFor(tool, call)), [UNKNOWN_KEY]: 1 };
          await expectToolError(client, tool.name, args, UNKNOWN_KEY, session.stderr);
        });
        const props = Object.entries(tool.inputSchema?.properties || {}).sort(([a], [b]) => a.localeCompare(b));
        const typed = props.find(([, p]) => wrongValue(p) !== undefined);
        if (!typed) continue;
        const [prop, schema] = typed;
        await t.test(`${tool.name}: wrong type for ${prop}`, async () => {
          const args = { ...(await argsFor(tool, call)), [prop]: wrongValue(schema) };
          await expectToolError(client, tool.name, args, prop, session.stderr);
        });
      }
      for (const bad of badArgs) {
        if (!tools.some((x) => x.name === bad.tool)) continue;
        await t.test(`${bad.tool}(${JSON.stringify(bad.args)})`, async () => {
          await expectToolError(client, bad.tool, bad.args, bad.names, session.stderr);
        });
      }
    });

    if (transport === 'http') {
      test('shuts down cleanly on SIGTERM', async () => {
        await session.close();
        session = undefined;
        const { code, signal } = await server.stop();
        assert.equal(signal, null, `killed by ${signal}; stderr:\n${server.stderr()}`);
        assert.equal(code, 0, `exit code ${code}; stderr:\n${server.stderr()}`);
      });
    }
  });
}

test('no entry of tool-args.mjs repeats the arguments schemas/tool-args.json publishes', () => {
  const repeats = Object.keys(ownArgs).filter((name) => isDeepStrictEqual(ownArgs[name], declaredArgs[name]));
  assert.deepEqual(repeats, [], 'drop these entries: the tools\' own tests declare the same arguments');
});

test('every transport and era lists the same tools', () => {
  const entries = [...listed.entries()];
  assert.equal(entries.length, combos.length, 'a tools/list run failed');
  const [firstKey, firstNames] = entries[0];
  for (const [key, names] of entries.slice(1)) {
    assert.deepEqual(names, firstNames, `${key} lists other tools than ${firstKey}`);
  }
});

describe('read-only mode', () => {
  test('serve --read-only lists no tool that can change anything', async () => {
    const session = await connect({ transport: 'stdio', era: 'legacy', serveArgs: ['--read-only'] });
    try {
      const { tools } = await session.client.listTools();
      assert.ok(tools.length > 0, 'no tools in read-only mode');
      for (const t of tools) {
        assert.equal(t.annotations?.readOnlyHint, true, `${t.name} is listed in read-only mode but is not read-only`);
      }
    } finally {
      await session.close();
    }
  });
});

describe('HTTP bearer token', () => {
  test('with --http-token-file, requests without the token get 401 and the client with it works', async () => {
    const token = 'e2e-' + randomBytes(16).toString('hex');
    const file = join(mkdtempSync(join(tmpdir(), 'pvemcp-e2e-')), 'token');
    writeFileSync(file, token + '\n', { mode: 0o600 });
    const server = await startHttpServer(['--http-token-file', file]);
    let session;
    try {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(res.status, 401, 'a request without the bearer token was not refused');
      session = await connect({ transport: 'http', era: 'legacy', server, headers: { Authorization: `Bearer ${token}` } });
      const { tools } = await session.client.listTools();
      assert.ok(tools.length > 0);
    } finally {
      await session?.close();
      await server.stop();
    }
  });
});

describe('serve against pvemcp sim, configured like a real cluster', () => {
  test('PROXMOX_VE_* from pvemcp sim: TLS pinned by fingerprint, live answers', async () => {
    const sim = await startSim();
    let session;
    try {
      session = await connect({ transport: 'stdio', era: 'modern', demo: false, env: sim.env });
      const res = await session.client.callTool({ name: 'cluster_overview', arguments: {} });
      const sc = checkResult('cluster_overview', {}, res, session.stderr);
      const nodes = (sc.nodes || []).map((n) => n.node).sort();
      assert.deepEqual(nodes, ['pve-node01', 'pve-node02', 'pve-node03'], 'the demo scenario\'s nodes');
      const text = JSON.stringify(sc) + session.stderr();
      const secret = sim.env.PROXMOX_VE_API_TOKEN.split('=').slice(1).join('=');
      assert.ok(secret && !text.includes(secret), 'the token secret appears in a result or a log line');
    } finally {
      await session?.close();
      await sim.stop();
    }
  });
});

// The elicitation end-to-end test (confirm_plan asking the human through the
// client, in both eras) belongs in e2e/elicitation.test.mjs.
