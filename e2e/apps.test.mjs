// MCP Apps (extension io.modelcontextprotocol/ui): the official TypeScript
// client, advertising the extension as a host that renders views does, sees
// the views named in tools/list and reads them; the same client without the
// extension sees no trace of them. Over stdio and streamable HTTP, in both
// protocol eras.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect, startHttpServer } from './lib.mjs';

const EXT = 'io.modelcontextprotocol/ui';
const MIME = 'text/html;profile=mcp-app';
const VIEWS = {
  cluster_overview: 'ui://pvemcp/overview',
  get_metrics: 'ui://pvemcp/metrics',
  storage_status: 'ui://pvemcp/storage',
  backup_status: 'ui://pvemcp/backups',
  capacity_report: 'ui://pvemcp/capacity',
  zfs_health: 'ui://pvemcp/zfs',
};

for (const transport of ['stdio', 'http']) {
  for (const era of ['modern', 'legacy']) {
    describe(`MCP Apps over ${transport}, ${era} era`, () => {
      let server;
      let host;
      let plain;

      before(async () => {
        if (transport === 'http') server = await startHttpServer();
        host = await connect({ transport, era, server, capabilities: { extensions: { [EXT]: { mimeTypes: [MIME] } } } });
        plain = await connect({ transport, era, server });
      });

      after(async () => {
        await host?.close();
        await plain?.close();
        await server?.stop();
      });

      test('a host with the extension sees the views on their tools and reads them', async () => {
        assert.ok(host.client.getServerCapabilities()?.extensions?.[EXT], 'server does not declare the extension');
        const { tools } = await host.client.listTools();
        for (const t of tools) {
          assert.equal(t._meta?.ui?.resourceUri, VIEWS[t.name], `${t.name}: _meta.ui.resourceUri`);
        }
        const { resources } = await host.client.listResources();
        const listed = resources.filter((r) => r.uri.startsWith('ui://'));
        assert.deepEqual(listed.map((r) => r.uri).sort(), Object.values(VIEWS).sort());
        for (const uri of Object.values(VIEWS)) {
          const { contents } = await host.client.readResource({ uri });
          assert.equal(contents.length, 1, uri);
          assert.equal(contents[0].mimeType, MIME, uri);
          assert.match(contents[0].text, /^<!DOCTYPE html>/, uri);
          assert.ok(contents[0].text.length < 60 * 1024, `${uri}: ${contents[0].text.length} bytes`);
        }
      });

      test('a client without the extension sees no view', async () => {
        assert.equal(plain.client.getServerCapabilities()?.extensions?.[EXT], undefined);
        const { tools } = await plain.client.listTools();
        for (const t of tools) assert.equal(t._meta, undefined, `${t.name} carries _meta`);
        const { resources } = await plain.client.listResources();
        assert.deepEqual(resources.filter((r) => r.uri.startsWith('ui://')), []);
        await assert.rejects(plain.client.readResource({ uri: VIEWS.cluster_overview }), new RegExp(EXT.replace(/[./]/g, '\\$&')));
      });
    });
  }
}
