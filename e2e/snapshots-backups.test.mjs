// Snapshots and backups through the official TypeScript client: every write
// tool plans without changing anything, confirm_plan refuses a wrong nonce,
// and with the right one the snapshot, rollback, backup, restore and deletion
// happen on the demo cluster.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect, textOf } from './lib.mjs';

for (const era of ['modern', 'legacy']) {
  describe(`snapshots and backups, official client over stdio, ${era} era`, () => {
    let session;
    const call = async (name, args = {}) => {
      const res = await session.client.callTool({ name, arguments: args });
      assert.ok(!res.isError, `${name}(${JSON.stringify(args)}) failed: ${textOf(res)}\nserver stderr:\n${session.stderr()}`);
      return res.structuredContent;
    };
    const refused = async (name, args, mustSay) => {
      const res = await session.client.callTool({ name, arguments: args });
      assert.equal(res.isError, true, `${name}(${JSON.stringify(args)}) was not refused: ${textOf(res)}`);
      assert.ok(textOf(res).includes(mustSay), `${name}: error does not say "${mustSay}": ${textOf(res)}`);
    };
    // plan runs a write tool, checks that it changed nothing and that a wrong
    // nonce is refused, then confirms it and returns the outcome.
    const planAndConfirm = async (name, args) => {
      const plan = await call(name, args);
      assert.ok(plan.plan_id && plan.nonce, `${name} returned no plan: ${JSON.stringify(plan)}`);
      assert.deepEqual(plan.sources.filter((s) => s.method !== 'GET'), [], `${name} wrote while planning`);
      const wrong = plan.nonce.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      await refused('confirm_plan', { plan_id: plan.plan_id, nonce: wrong }, 'nonce');
      const done = await call('confirm_plan', { plan_id: plan.plan_id, nonce: plan.nonce });
      assert.equal(done.outcome, 'ok', `${name} plan did not run: ${JSON.stringify(done)}`);
      return { plan, done };
    };

    before(async () => {
      session = await connect({ transport: 'stdio', era });
    });
    after(async () => {
      await session?.close();
    });

    test('snapshot, rollback and delete', async () => {
      const tree = await call('list_snapshots', { vmid: 102 });
      assert.equal(tree.guests[0].rollback_latest_only, true);
      await refused('snapshot_guest', { vmid: 102, action: 'rollback', name: 'before-pg16' }, 'after-pg16, pre-vacuum-tuning');

      await planAndConfirm('snapshot_guest', { vmid: 203, action: 'create', name: 'e2e', description: 'from the e2e test' });
      let snaps = await call('list_snapshots', { vmid: 203 });
      assert.equal(snaps.guests[0].current_parent, 'e2e');
      const { plan } = await planAndConfirm('snapshot_guest', { vmid: 203, action: 'rollback', name: 'e2e' });
      assert.equal(plan.rollback_loses.state_after, 'stopped');
      await planAndConfirm('snapshot_guest', { vmid: 203, action: 'delete', name: 'e2e' });
      snaps = await call('list_snapshots', { vmid: 203 });
      assert.deepEqual(snaps.guests[0].snapshots, []);
    });

    test('backup, restore and delete', async () => {
      const { done } = await planAndConfirm('backup_guest', { vmids: [201], storage: 'local', notes: '{{guestname}} e2e' });
      const archive = done.backups?.[0]?.archive;
      assert.ok(archive?.startsWith('local:backup/vzdump-lxc-201-'), `no archive reported: ${JSON.stringify(done)}`);
      const listed = await call('list_backups', { vmid: 201, storage: 'local' });
      assert.equal(listed.backups[0].volid, archive);
      assert.equal(listed.backups[0].notes, 'pihole-primary e2e');

      await refused('restore_backup', { volid: archive, vmid: 201, force: true }, 'is running');
      const { plan: restore } = await planAndConfirm('restore_backup', { volid: archive, unique: true });
      const guest = await call('get_guest', { vmid: restore.vmid });
      assert.equal(guest.type, 'lxc');
      assert.equal(guest.name, 'pihole-primary');
      assert.equal(guest.status, 'stopped');

      await planAndConfirm('delete_backup', { volid: archive });
      const after = await call('list_backups', { vmid: 201, storage: 'local' });
      assert.deepEqual(after.backups, []);
    });
  });
}
