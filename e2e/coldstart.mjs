// Whole-process figures for `make bench`: cold start of the stdio server to
// its first answer, i.e. from spawning the process to the first byte of the
// initialize response, both for `pvemcp serve --demo` (which also starts the
// embedded simulator) and for `pvemcp serve` configured for a cluster (a
// `pvemcp sim` started once beforehand). Run: node e2e/coldstart.mjs [runs]
import { spawn } from 'node:child_process';

import { binary, startSim } from './lib.mjs';

const runs = Number(process.argv[2] || 20);

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'pvemcp-coldstart', version: '1.0.0' },
  },
});

function once(args, env) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, ...env } });
    let settled = false;
    const timer = setTimeout(() => finish(new Error('no answer within 30s')), 30_000);
    function finish(err, ms) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(ms);
    }
    child.on('error', finish);
    child.on('exit', (code) => finish(new Error(`exited with ${code} before answering`)));
    child.stdout.once('data', () => finish(null, Number(process.hrtime.bigint() - start) / 1e6));
    child.stdin.on('error', () => {});
    child.stdin.write(initialize + '\n');
  });
}

async function measure(label, args, env) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(args, env));
  times.sort((a, b) => a - b);
  const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const fmt = (v) => v.toFixed(1);
  console.log(
    `cold start of '${label}' to first answer over ${runs} runs: ` +
      `min ${fmt(times[0])} ms, median ${fmt(pick(0.5))} ms, p90 ${fmt(pick(0.9))} ms, max ${fmt(times[times.length - 1])} ms`,
  );
}

await measure('pvemcp serve --demo', ['serve', '--demo']);
const sim = await startSim();
try {
  await measure('pvemcp serve (against pvemcp sim)', ['serve'], sim.env);
} finally {
  await sim.stop();
}
