// The diagnostics questions, asked through the official TypeScript MCP
// client of the built binary on the demo cluster (stdio), answered from
// each tool's structured result. The diagnostics toolset is served on demand.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect, textOf } from './lib.mjs';

describe('diagnostics on the demo cluster', () => {
  let session;
  const call = async (name, args = {}) => {
    const res = await session.client.callTool({ name, arguments: args });
    assert.ok(!res.isError, `${name}(${JSON.stringify(args)}) failed: ${textOf(res)}\n${session.stderr()}`);
    return res.structuredContent;
  };

  before(async () => {
    session = await connect({ transport: 'stdio', era: 'modern', serveArgs: ['--toolsets', 'diagnostics,storage'] });
  });
  after(async () => {
    await session?.close();
  });

  test('why did the backup of VM 103 fail? (node_logs)', async () => {
    const sc = await call('node_logs', { hours: 200, grep: 'VM 103', service: 'pvescheduler' });
    const line = sc.problems.find((p) => p.level === 'error' && p.node === 'pve-node01');
    assert.ok(line, `no error line: ${JSON.stringify(sc.problems)}`);
    assert.match(line.line, /ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit/);
  });

  test('why is rpool on pve-node03 degraded? (node_logs)', async () => {
    const sc = await call('node_logs', { node: 'pve-node03', hours: 300, grep: 'S64HNE0R803002' });
    assert.ok(sc.problems.some((p) => /zio pool=rpool .*error=5/.test(p.line)), JSON.stringify(sc.problems));
    assert.ok(sc.problems.some((p) => /vdev_state=FAULTED/.test(p.line)), JSON.stringify(sc.problems));
  });

  test('are my nodes up to date? when do certificates expire? (node_health)', async () => {
    const sc = await call('node_health');
    const byNode = Object.fromEntries(sc.nodes.map((n) => [n.node, n]));
    // The demo token may not read apt/update (Sys.Modify): the PVE packages
    // still show their candidate versions from apt/versions.
    assert.equal(byNode['pve-node01'].updates.pve_pending, 2);
    const mgr = byNode['pve-node01'].updates.pve_versions.find((p) => p.package === 'pve-manager');
    assert.deepEqual([mgr.version, mgr.candidate], ['9.1.6', '9.1.7']);
    assert.ok(sc.errors.some((e) => e.message.includes('Sys.Modify')), 'the refused apt/update is not named');
    const ssl = byNode['pve-node02'].certificates.find((c) => c.file === 'pve-ssl.pem');
    assert.ok(ssl.days_left >= 20 && ssl.days_left <= 21, JSON.stringify(ssl));
    assert.ok(sc.alerts.some((a) => a.subject === 'pve-node02/pve-ssl.pem' && a.metric === 'cert_days_left'));
    assert.equal(byNode['pve-node01'].services.not_running[0].service, 'postfix');
  });

  test('is replication failing? (replication_status)', async () => {
    const sc = await call('replication_status');
    assert.equal(sc.counts.failing, 1);
    const job = sc.jobs[0];
    assert.deepEqual([job.id, job.state, job.fail_count], ['104-0', 'failing', 4]);
    assert.match(job.error, /exit code 255/);
    assert.ok(sc.alerts.some((a) => a.subject === 'replication/104-0' && a.severity === 'critical'));
  });

  test('is Ceph healthy? (ceph_health: not installed on the demo)', async () => {
    const sc = await call('ceph_health');
    assert.equal(sc.installed, false);
    assert.match(sc.unavailable[0].why, /binary not installed: \/usr\/bin\/ceph-mon/);
  });

  test('is port 22 open to VM 101? (firewall_status)', async () => {
    const sc = await call('firewall_status', { vmid: 101, port: 22 });
    const g = sc.guests[0];
    assert.equal(g.vmid, 101);
    assert.equal(g.port_check.verdict, 'restricted');
    assert.deepEqual(g.port_check.allowed_from, ['+admins']);
    const admins = sc.ipsets.find((s) => s.name === 'admins');
    assert.deepEqual(admins.cidrs, ['10.10.30.0/24', '10.10.10.5']);
  });

  test('which ISOs and templates can I install from? (storage_content)', async () => {
    const sc = await call('storage_content', { content: 'vztmpl', available_templates: true });
    const vols = sc.volumes.map((v) => v.volid);
    assert.ok(vols.includes('local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'), JSON.stringify(vols));
    assert.ok(sc.available_templates.some((t) => t.template === 'debian-13-standard_13.1-2_amd64.tar.zst'));
    const iso = await call('storage_content', { content: 'iso' });
    assert.ok(iso.volumes.some((v) => v.volid === 'local:iso/ubuntu-22.04.4-live-server-amd64.iso'));
  });
});
