// The approval gate through a real client: confirm_plan asks the human with
// an elicitation (form mode) and only an accepted answer executes the plan.
// Runs the official TypeScript client against the built binary on the demo
// cluster, over stdio and streamable HTTP, in both protocol eras
// (2026-07-28: an input_required result the client fulfils and retries;
// legacy: a server-initiated elicitation/create request).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { connect, startHttpServer, textOf } from './lib.mjs';

// Every server started below appends to one audit log, named in a config
// file (the stdio client transport does not pass the environment on).
const dir = mkdtempSync(join(tmpdir(), 'pvemcp-e2e-audit-'));
const auditLog = join(dir, 'audit.jsonl');
const configFile = join(dir, 'config.yaml');
writeFileSync(configFile, `audit_log: ${JSON.stringify(auditLog)}\n`);
const serveArgs = ['--config', configFile];
const nonces = [];

// A stopped container in the demo scenario: start and stop are both cheap.
const VMID = 203;

let http;
before(async () => {
  http = await startHttpServer(serveArgs);
});
after(async () => {
  await http?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// session connects a client that declares form elicitation and answers every
// elicitation/create with `answer`, recording what it was asked.
async function session(transport, era, answer) {
  const s = await connect({ transport, era, server: http, serveArgs, capabilities: { elicitation: { form: {} } } });
  const asked = [];
  s.client.setRequestHandler('elicitation/create', async (req) => {
    asked.push(req.params);
    return answer;
  });
  return { ...s, asked };
}

function call(s, name, args, options) {
  return s.client.callTool({ name, arguments: args }, options);
}

// planPower plans start (or stop, when the container already runs) and
// returns { action, plan }.
async function planPower(s) {
  for (const action of ['start', 'stop']) {
    const res = await call(s, 'guest_power', { vmid: VMID, action });
    if (!res.isError) {
      nonces.push(res.structuredContent.nonce);
      return { action, plan: res.structuredContent };
    }
    assert.match(textOf(res), /cannot (start|stop)/, `guest_power ${action}: ${textOf(res)}\n${s.stderr()}`);
  }
  assert.fail('neither start nor stop could be planned');
}

// stillPlannable reports whether the same action can be planned again, i.e.
// whether the guest is still in the state the first plan found.
async function stillPlannable(s, action) {
  const res = await call(s, 'guest_power', { vmid: VMID, action });
  if (!res.isError) nonces.push(res.structuredContent.nonce);
  return !res.isError;
}

for (const transport of ['stdio', 'http']) {
  for (const era of ['modern', 'legacy']) {
    describe(`confirm_plan elicitation over ${transport}, ${era} era`, () => {
      test('accept executes the plan', async () => {
        const s = await session(transport, era, { action: 'accept', content: { approve: true } });
        try {
          const { action, plan } = await planPower(s);
          assert.match(plan.plan_id, /^plan-[0-9a-f]{16}$/);
          assert.match(plan.nonce, /^[0-9a-f]{32}$/);
          const progress = [];
          const res = await call(
            s,
            'confirm_plan',
            { plan_id: plan.plan_id, nonce: plan.nonce },
            { onprogress: (p) => progress.push(p) },
          );
          assert.ok(!res.isError, `confirm_plan: ${textOf(res)}\n${s.stderr()}`);
          const out = res.structuredContent;
          assert.equal(out.outcome, 'ok', JSON.stringify(out));
          assert.equal(out.approved_by, 'elicitation');
          assert.match(out.steps[0].upid, new RegExp(`^UPID:pve-node02:.*:vz${action}:${VMID}:`));
          assert.equal(s.asked.length, 1, 'the human was asked exactly once');
          assert.match(s.asked[0].message, new RegExp(`POST /nodes/pve-node02/lxc/${VMID}/status/${action}`));
          assert.ok(s.asked[0].requestedSchema?.properties?.approve, 'the form has an approve field');
          assert.equal(await stillPlannable(s, action), false, `container ${VMID} did not change state`);
          // Progress sent before the task was started; later ones may race
          // the result and be dropped by the client.
          // pvemcp's notifications carry total = number of calls (1 here);
          // the client reports its own elicitation round trips without one.
          const ours = progress.filter((p) => p.total === 1);
          assert.ok(ours.length > 0, `no progress notification from pvemcp: ${JSON.stringify(progress)}`);
          if (transport === 'http' && era === 'legacy') {
            // A legacy HTTP session shares one notification queue between its
            // open POSTs (mcp-go): a notification sent just as the POST that
            // carried the elicitation answer closes can be dropped, so only
            // the ordered, well-formed delivery of the rest is checked here.
            const seen = ours.map((p) => p.progress);
            assert.deepEqual(seen, [...seen].sort((a, b) => a - b), JSON.stringify(progress));
          } else {
            assert.ok(
              ours.some((p) => /^sending POST /.test(p.message)),
              `no "sending" progress notification from pvemcp: ${JSON.stringify(progress)}`,
            );
          }
        } finally {
          await s.close();
        }
      });

      for (const answer of [{ action: 'decline' }, { action: 'cancel' }, { action: 'accept', content: { approve: false } }]) {
        test(`${JSON.stringify(answer)} executes nothing`, async () => {
          const s = await session(transport, era, answer);
          try {
            const { action, plan } = await planPower(s);
            const res = await call(s, 'confirm_plan', { plan_id: plan.plan_id, nonce: plan.nonce });
            assert.ok(res.isError, `confirm_plan succeeded: ${JSON.stringify(res.structuredContent)}`);
            assert.match(textOf(res), /refused: the user answered "(decline|cancel)".*nothing was sent to Proxmox/);
            assert.equal(s.asked.length, 1);
            assert.equal(await stillPlannable(s, action), true, `container ${VMID} changed state after ${answer.action}`);
            // The declined plan is spent: its nonce cannot be used again.
            const again = await call(s, 'confirm_plan', { plan_id: plan.plan_id, nonce: plan.nonce });
            assert.ok(again.isError);
            assert.match(textOf(again), /already (declined|cancelled)/);
          } finally {
            await s.close();
          }
        });
      }
    });
  }
}

test('the audit log recorded every plan, approval, refusal and outcome, and no nonce', () => {
  const events = readFileSync(auditLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const count = (kind, field, re) => events.filter((e) => e.event === kind && (!field || re.test(e[field]))).length;
  // Per transport and era: 4 plans confirmed or refused, 3 re-plans after
  // a refusal.
  assert.equal(count('plan'), 28);
  assert.equal(count('confirm', 'approval', /^elicitation$/), 4);
  assert.equal(count('outcome', 'outcome', /^ok$/), 4);
  assert.equal(count('refusal', 'reason', /the user answered/), 12);
  for (const e of events) {
    assert.ok(e.time && e.caller && e.plan_id, `incomplete audit event ${JSON.stringify(e)}`);
  }
  const raw = readFileSync(auditLog, 'utf8');
  for (const n of nonces) assert.ok(!raw.includes(n), 'a nonce reached the audit log');
});
