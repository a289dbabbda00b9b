// The official MCP conformance suite against `pvemcp serve --demo --http`, for
// both revisions it defines requirement sets for. Scenarios that need the
// suite's own fixture tools, prompts or resources cannot pass against pvemcp;
// they are listed, with a reason each, in conformance-expected-failures.txt.
// Any other failure fails this test, and so does a listed scenario that
// passes (the list must stay exact).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { packageBin, repoRoot, run, startHttpServer } from './lib.mjs';

const REVISIONS = ['2025-11-25', '2026-07-28'];
const EXPECTED_FILE = join(repoRoot, 'e2e', 'conformance-expected-failures.txt');
const RESULT_DIR = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;

// readExpected parses "REVISION SCENARIO REASON..." lines; # starts a comment.
function readExpected() {
  const expected = new Map();
  const lines = readFileSync(EXPECTED_FILE, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const [revision, scenario, ...reason] = trimmed.split(/\s+/);
    const where = `conformance-expected-failures.txt line ${i + 1}`;
    assert.ok(REVISIONS.includes(revision), `${where}: unknown revision ${revision}`);
    assert.ok(scenario, `${where}: no scenario`);
    assert.ok(reason.length > 0, `${where}: ${scenario} has no reason`);
    const key = `${revision} ${scenario}`;
    assert.ok(!expected.has(key), `${where}: ${key} is listed twice`);
    expected.set(key, reason.join(' '));
  });
  return expected;
}

// readResults maps scenario name to the failed checks (empty when it passed).
function readResults(dir) {
  const results = new Map();
  for (const entry of readdirSync(dir)) {
    const m = RESULT_DIR.exec(entry);
    if (!m) continue;
    const checks = JSON.parse(readFileSync(join(dir, entry, 'checks.json'), 'utf8'));
    const failed = checks
      .filter((c) => c.status === 'FAILURE')
      .map((c) => `${c.id}: ${c.errorMessage || c.description || ''}`);
    results.set(m[1], failed);
  }
  return results;
}

describe('official conformance suite against serve --demo --http', () => {
  let server;
  let work;
  const expected = readExpected();

  before(async () => {
    server = await startHttpServer();
    work = mkdtempSync(join(tmpdir(), 'pvemcp-conformance-'));
  });

  after(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const revision of REVISIONS) {
    test(`requirement set ${revision}`, { timeout: 600_000 }, async () => {
      const out = join(work, revision);
      const res = await run(
        process.execPath,
        [packageBin('@modelcontextprotocol/conformance', 'conformance'), 'server', '--url', server.url, '--requirements', revision, '-o', out],
        { timeoutMs: 540_000 },
      );
      const log = `${res.stdout}\n${res.stderr}`;
      // Exit 1 only means some scenario failed; the verdict is ours, below.
      assert.ok(res.code === 0 || res.code === 1, `conformance exited ${res.code} ${res.signal || ''}:\n${log.slice(-4000)}`);
      const summary = log.slice(log.indexOf('=== SUMMARY ==='));
      const results = readResults(out);
      assert.ok(results.size > 0, `no scenario results were written:\n${log.slice(-4000)}`);

      const problems = [];
      for (const [scenario, failed] of results) {
        const key = `${revision} ${scenario}`;
        if (failed.length > 0 && !expected.has(key)) {
          problems.push(`unexpected failure: ${key}\n    ${failed.join('\n    ')}`);
        } else if (failed.length === 0 && expected.has(key)) {
          problems.push(`unexpected pass: ${key} (remove it from conformance-expected-failures.txt)`);
        }
      }
      for (const key of expected.keys()) {
        if (key.startsWith(`${revision} `) && !results.has(key.slice(revision.length + 1))) {
          problems.push(`listed but not run: ${key} (remove it from conformance-expected-failures.txt)`);
        }
      }
      assert.deepEqual(problems, [], `${problems.join('\n')}\n\n${summary}\nserver stderr:\n${server.stderr().slice(-4000)}`);
    });
  }
});
