// Guest lifecycle and the guest agent through the official TypeScript client on the demo cluster: what the
// agent reports, clones, a template, a deletion and a command inside a VM. Every write is refused without
// its confirmation (a wrong nonce changes nothing) and executed with it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect, textOf } from './lib.mjs';

describe('guest lifecycle and guest agent, official client over stdio', () => {
  let session;

  // call runs a tool and returns its structured content; a tool error fails the test.
  async function call(name, args) {
    const res = await session.client.callTool({ name, arguments: args });
    assert.ok(!res.isError, `${name}(${JSON.stringify(args)}): ${textOf(res)}\nstderr:\n${session.stderr()}`);
    return res.structuredContent;
  }

  // refused runs a tool that must answer with a tool error and returns its text.
  async function refused(name, args) {
    const res = await session.client.callTool({ name, arguments: args });
    assert.ok(res.isError, `${name}(${JSON.stringify(args)}) was not refused: ${textOf(res)}`);
    return textOf(res);
  }

  // confirm executes a plan after checking that a wrong nonce executes nothing.
  async function confirm(plan) {
    const wrong = plan.nonce.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const text = await refused('confirm_plan', { plan_id: plan.plan_id, nonce: wrong });
    assert.match(text, /nonce/i);
    const out = await call('confirm_plan', { plan_id: plan.plan_id, nonce: plan.nonce });
    assert.equal(out.outcome, 'ok', JSON.stringify(out));
    return out;
  }

  async function exists(vmid) {
    const { guests } = await call('list_guests', { limit: 1000, include_templates: true });
    return guests.some((row) => row[0] === vmid);
  }

  before(async () => {
    session = await connect({ transport: 'stdio', era: 'modern' });
  });
  after(async () => {
    await session?.close();
  });

  test('the guest agent: IPs, OS, filesystems, and unavailable with Proxmox reason', async () => {
    const info = await call('guest_agent_info', { vmid: 101 });
    assert.ok(info.agent.disk_used_gib > 0, JSON.stringify(info));
    assert.ok(info.agent.interfaces.some((i) => (i.ipv4 || []).includes('10.10.20.21/24')));
    assert.equal(info.agent.filesystems[0].mountpoint, '/');
    const g = await call('get_guest', { vmid: 102 });
    assert.ok(g.disk_used_gib > 0 && /guest agent/.test(g.disk_used_source), JSON.stringify(g));
    assert.equal(g.agent.os.id, 'debian');
    const none = await call('get_guest', { vmid: 103 });
    assert.equal(none.disk_used_gib, undefined);
    const why = Object.fromEntries(none.unavailable.map((u) => [u.what, u.why]));
    assert.match(why['guest agent'], /QEMU guest agent is not running/);
    assert.match(why.disk_used_gib, /guest agent/);
  });

  test('clone, template, delete: refused without confirmation, done with it', async () => {
    const linked = await refused('clone_guest', { vmid: 101, full: false });
    assert.match(linked, /linked clone needs a template/);

    const plan = await call('clone_guest', { vmid: 9000, count: 2, name: 'e2e-web-{n}' });
    assert.equal(plan.calls.length, 2);
    const [a, b] = plan.clones.map((c) => c.vmid);
    assert.equal(await exists(a), false, 'a plan alone created a guest');
    await confirm(plan);
    assert.ok((await exists(a)) && (await exists(b)), 'clones missing after confirmation');
    const clone = await call('get_guest', { vmid: a });
    assert.equal(clone.name, 'e2e-web-1');
    assert.match(clone.config.scsi0, /^local-zfs:base-9000-disk-0\/vm-\d+-disk-0,/);

    // The template cannot go while linked clones use it.
    assert.match(await refused('delete_guest', { vmid: 9000 }), /linked clones/);

    const tmpl = await call('convert_to_template', { vmid: b });
    assert.ok(tmpl.warnings.some((w) => /cannot be undone/.test(w)));
    assert.equal((await call('get_guest', { vmid: b })).template, undefined);
    await confirm(tmpl);
    assert.equal((await call('get_guest', { vmid: b })).template, true);

    assert.match(await refused('delete_guest', { vmid: 101 }), /is running; stop it first/);
    const del = await call('delete_guest', { vmid: a });
    const keys = Object.fromEntries(del.volumes.map((v) => [v.key, v.volid]));
    assert.match(keys.scsi0, /^local-zfs:base-9000-disk-0\/vm-\d+-disk-0$/, JSON.stringify(del.volumes));
    assert.match(keys.ide2, /^local-zfs:vm-\d+-cloudinit$/, JSON.stringify(del.volumes));
    assert.ok(await exists(a));
    await confirm(del);
    assert.equal(await exists(a), false);
  });

  test('guest_exec: the exact argv, output as untrusted data, capped', async () => {
    const plan = await call('guest_exec', { vmid: 101, command: ['systemctl', 'is-active', 'nginx'] });
    assert.deepEqual(plan.calls[0].lists.command, ['systemctl', 'is-active', 'nginx']);
    const out = await confirm(plan);
    const ex = out.steps[0].exec;
    assert.equal(ex.exit_code, 0);
    assert.equal(ex.untrusted_guest_output.stdout, 'active\n');

    const big = await confirm(await call('guest_exec', { vmid: 101, command: ['seq', '10000'] }));
    const bx = big.steps[0].exec;
    assert.equal(bx.untrusted_guest_output.stdout_truncated, true);
    assert.equal(bx.untrusted_guest_output.stdout.length, 16384);
    assert.match(bx.note, /stdout truncated to 16384 of 48894 bytes/);

    assert.match(await refused('guest_exec', { vmid: 103, command: ['uptime'] }), /QEMU guest agent is not running/);
  });
});
