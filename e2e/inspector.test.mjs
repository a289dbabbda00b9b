// The MCP Inspector CLI, a second independent client: it lists the tools over
// stdio and calls one over streamable HTTP.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { binary, packageBin, run, startHttpServer } from './lib.mjs';

describe('MCP Inspector CLI', () => {
  let home;
  let env;
  const inspector = packageBin('@modelcontextprotocol/inspector', 'mcp-inspector');

  before(() => {
    // The inspector keeps a catalog and client settings under HOME; keep them
    // out of the developer's home.
    home = mkdtempSync(join(tmpdir(), 'pvemcp-inspector-'));
    env = {
      HOME: home,
      MCP_CATALOG_PATH: join(home, 'mcp.json'),
      MCP_CLIENT_CONFIG_PATH: join(home, 'client.json'),
    };
  });

  after(() => rmSync(home, { recursive: true, force: true }));

  function parse(res, what) {
    assert.equal(res.code, 0, `${what}: inspector exited ${res.code} ${res.signal || ''}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    try {
      return JSON.parse(res.stdout);
    } catch (err) {
      assert.fail(`${what}: output is not JSON (${err.message}):\n${res.stdout.slice(0, 2000)}`);
    }
  }

  test('lists the tools over stdio', async () => {
    const res = await run(
      process.execPath,
      [inspector, '--cli', binary, 'serve', '--demo', '--method', 'tools/list', '--format', 'json'],
      { env, timeoutMs: 120_000 },
    );
    const out = parse(res, 'tools/list');
    const tools = out.result?.tools;
    assert.ok(Array.isArray(tools), `no tools in ${res.stdout.slice(0, 500)}`);
    const names = tools.map((t) => t.name);
    for (const want of ['cluster_overview', 'list_guests', 'get_guest']) {
      assert.ok(names.includes(want), `inspector does not see ${want}: ${names.join(', ')}`);
    }
    for (const t of tools) {
      assert.ok(t.annotations && typeof t.annotations.readOnlyHint === 'boolean', `${t.name}: no readOnlyHint`);
      assert.ok(t.outputSchema, `${t.name}: no output schema`);
    }
  });

  test('calls list_guests over streamable HTTP', async () => {
    const server = await startHttpServer();
    try {
      const res = await run(
        process.execPath,
        [
          inspector, '--cli', server.url, '--transport', 'http',
          '--method', 'tools/call', '--tool-name', 'list_guests', '--tool-args-json', '{}',
          '--format', 'json',
        ],
        { env, timeoutMs: 120_000 },
      );
      const out = parse(res, 'tools/call list_guests');
      const result = out.result;
      assert.ok(result && !result.isError, `list_guests failed: ${res.stdout.slice(0, 2000)}`);
      assert.ok(result.structuredContent?.sources?.length > 0, 'list_guests result has no sources');
    } finally {
      await server.stop();
    }
  });
});
