// Toolsets at run time with the official TypeScript client, over stdio and
// streamable HTTP, in both protocol eras: list the toolsets, enable the ones
// that are off, and call every tool they bring.
//
// 2025-11-25 (legacy): enable_toolset sends notifications/tools/list_changed
// and the session's next tools/list shows the new tools.
// 2026-07-28 (modern, stateless): tools/list never changes as a side effect;
// enable_toolset returns the tools with their input schemas and they answer
// when called by name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect, startHttpServer, textOf } from './lib.mjs';
import { toolArgs } from './tool-args.mjs';

// Toolsets pvemcp leaves off by default (toolkit/tool.go, DefaultToolsets).
const OFF_BY_DEFAULT = ['snapshots', 'lifecycle', 'agent', 'diagnostics'];

async function callOk(client, name, args, stderr) {
  const res = await client.callTool({ name, arguments: args });
  assert.ok(!res.isError, `${name}(${JSON.stringify(args)}) returned a tool error: ${textOf(res)}\nserver stderr:\n${stderr()}`);
  const sc = res.structuredContent;
  assert.ok(sc && typeof sc === 'object', `${name}: no structuredContent`);
  assert.deepEqual(JSON.parse(textOf(res)), sc, `${name}: text content is not the JSON of structuredContent`);
  return sc;
}

async function argsFor(name, inputSchema, call) {
  const entry = toolArgs[name];
  if (typeof entry === 'function') return entry({ call });
  if (entry) return entry;
  const required = inputSchema?.required || [];
  assert.equal(required.length, 0, `tool ${name} requires ${required.join(', ')} but e2e/tool-args.mjs has no entry for it`);
  return {};
}

// Each case is a server start: the default settings (every toolset that is
// off by default gets enabled) and --toolsets inventory (every other toolset
// gets enabled, so the mechanism is exercised whatever tools exist).
const cases = [
  { label: 'default toolsets', serveArgs: [] },
  { label: '--toolsets inventory', serveArgs: ['--toolsets', 'inventory'] },
];

for (const { label, serveArgs } of cases) {
  for (const transport of ['stdio', 'http']) {
    for (const era of ['legacy', 'modern']) {
      describe(`toolsets (${label}) over ${transport}, ${era} era`, () => {
        let server;
        let session;

        before(async () => {
          if (transport === 'http') server = await startHttpServer(serveArgs);
          session = await connect({ transport, era, server, serveArgs });
        });

        after(async () => {
          await session?.close();
          await server?.stop();
        });

        test('list toolsets, enable the ones that are off, call their tools', async (t) => {
          const { client, stderr } = session;
          const call = (name, args = {}) => callOk(client, name, args, stderr);
          let changed = 0;
          client.setNotificationHandler('notifications/tools/list_changed', async () => {
            changed++;
          });

          const first = (await client.listTools()).tools.map((x) => x.name).sort();
          for (const want of ['list_toolsets', 'enable_toolset', 'cluster_overview']) {
            assert.ok(first.includes(want), `tools/list lacks ${want}: ${first.join(', ')}`);
          }
          const { toolsets } = await call('list_toolsets');
          const byName = new Map(toolsets.map((x) => [x.name, x]));
          for (const ts of toolsets) {
            assert.ok(ts.description, `toolset ${ts.name} has no description`);
            for (const tool of ts.tools) {
              assert.equal(first.includes(tool), ts.enabled, `${tool} of ${ts.name} (enabled ${ts.enabled}) listed: ${first.includes(tool)}`);
            }
          }
          if (serveArgs.length === 0) {
            for (const name of OFF_BY_DEFAULT) {
              assert.ok(byName.has(name), `list_toolsets lacks ${name}`);
              assert.ok(byName.get(name).tools.length > 0, `toolset ${name} has no tools`);
              assert.equal(byName.get(name).enabled, false, `${name} is on by default`);
            }
            assert.ok(first.includes('capacity_report'), 'capacity is a default toolset');
          }
          const targets = toolsets.filter((x) => !x.enabled);
          if (serveArgs.length > 0) assert.ok(targets.length >= 5, `only ${targets.length} toolsets to enable`);
          // diagnostics first: the toolset the issue names.
          targets.sort((a, b) => (b.name === 'diagnostics') - (a.name === 'diagnostics'));

          let listed = first;
          const called = new Set();
          for (const ts of targets) {
            await t.test(`enable ${ts.name}`, async (tt) => {
              const before = changed;
              const en = await call('enable_toolset', { toolset: ts.name });
              assert.equal(en.toolset, ts.name);
              assert.equal(en.already_enabled, undefined, `${ts.name} was already enabled`);
              const brought = en.tools.map((x) => x.name).sort();
              for (const tool of ts.tools) assert.ok(brought.includes(tool), `enable_toolset ${ts.name} lacks ${tool}`);
              const now = (await client.listTools()).tools;
              const names = now.map((x) => x.name).sort();
              if (era === 'legacy') {
                assert.equal(en.listed, true);
                // The notification precedes the enable_toolset answer on the
                // wire; give the client's dispatcher a moment anyway.
                for (let i = 0; i < 50 && changed === before; i++) await new Promise((r) => setTimeout(r, 20));
                assert.ok(changed > before, `no notifications/tools/list_changed after enabling ${ts.name}\nserver stderr:\n${stderr()}`);
                for (const tool of ts.tools) assert.ok(names.includes(tool), `tools/list lacks ${tool} after enabling ${ts.name}`);
                assert.ok(names.length > listed.length, `tools/list did not grow after enabling ${ts.name}`);
              } else {
                assert.equal(en.listed, false);
                assert.deepEqual(names, first, `stateless tools/list changed as a side effect of enable_toolset`);
                for (const x of en.tools) assert.equal(x.input_schema?.type, 'object', `${x.name}: no input schema in the stateless answer`);
              }
              listed = names;
              const schemas = new Map(
                era === 'legacy' ? now.map((x) => [x.name, x.inputSchema]) : en.tools.map((x) => [x.name, x.input_schema]),
              );
              for (const tool of ts.tools) {
                await tt.test(tool, async () => {
                  const args = await argsFor(tool, schemas.get(tool), call);
                  const sc = await call(tool, args);
                  assert.ok(Array.isArray(sc.sources) && sc.sources.length > 0, `${tool}: no sources`);
                  called.add(tool);
                });
              }
            });
          }
          // Every tool of every toolset that was off has answered.
          for (const ts of targets) {
            for (const tool of ts.tools) assert.ok(called.has(tool), `${tool} (${ts.name}) was not reached through enable_toolset`);
          }

          // An unknown toolset is a tool error naming the argument; nothing changes.
          const res = await client.callTool({ name: 'enable_toolset', arguments: { toolset: 'nope' } });
          assert.equal(res.isError, true, `enable_toolset nope: ${textOf(res)}`);
          assert.ok(textOf(res).includes('toolset'), textOf(res));
        });
      });
    }
  }
}

// Over HTTP the request can name its toolsets (X-MCP-Toolsets): in the
// stateless era that is how a client chooses its tool list up front.
describe('X-MCP-Toolsets over http, modern era', () => {
  let server;
  let session;

  before(async () => {
    server = await startHttpServer();
    session = await connect({ transport: 'http', era: 'modern', server, headers: { 'X-MCP-Toolsets': 'inventory,capacity' } });
  });

  after(async () => {
    await session?.close();
    await server?.stop();
  });

  test('tools/list holds exactly the named toolsets and discovery', async () => {
    const names = (await session.client.listTools()).tools.map((x) => x.name).sort();
    assert.deepEqual(names, ['capacity_report', 'cluster_overview', 'enable_toolset', 'get_guest', 'list_guests', 'list_toolsets']);
    const sc = await callOk(session.client, 'capacity_report', {}, session.stderr);
    assert.ok(sc.sources.length > 0);
  });
});
