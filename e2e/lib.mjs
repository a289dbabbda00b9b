// Shared helpers for the end-to-end tests: where the binary is, how to start it
// over stdio or streamable HTTP, and how to connect the official client in
// either protocol era.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// PVEMCP_BIN lets a developer point the suite at another build.
export const binary = process.env.PVEMCP_BIN || join(repoRoot, 'bin', 'pvemcp');

export const MODERN_VERSION = '2026-07-28';

// The two protocol eras every transport is exercised in.
export const eras = {
  modern: { mode: { pin: MODERN_VERSION } },
  legacy: { mode: 'legacy' },
};

// freePort asks the kernel for an unused loopback port. The port is released
// before the server binds it; another process could take it in between,
// so startHttpServer retries with a new one.
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

// startHttpServer runs `pvemcp serve --demo --http 127.0.0.1:PORT [extra...]`
// and resolves once /healthz answers 200. If the server exits before that
// (another process took the free port in between), it tries a new port.
export async function startHttpServer(extraArgs = []) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startHttpServerOnce(extraArgs);
    } catch (err) {
      lastErr = err;
      if (!err.exitedEarly) throw err;
    }
  }
  throw lastErr;
}

async function startHttpServerOnce(extraArgs) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(binary, ['serve', '--demo', '--http', addr, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = collect(child.stderr);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const base = `http://${addr}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      const err = new Error(`pvemcp serve --http exited early (${JSON.stringify(exited)}); stderr:\n${stderr()}`);
      err.exitedEarly = true;
      throw err;
    }
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pvemcp serve --http did not answer /healthz within 30s; stderr:\n${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url: `${base}/mcp`,
    base,
    stderr,
    async stop() {
      if (exited) return exited;
      const done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const result = await done;
      clearTimeout(timer);
      return result;
    },
  };
}

// collect keeps the last 64 KiB of a stream for error messages.
export function collect(stream) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    if (buf.length > 65536) buf = buf.slice(-65536);
  });
  return () => buf;
}

// connect starts a client session. transport is 'stdio' or 'http'; for http,
// server is the handle from startHttpServer. For stdio, the server runs on the
// demo cluster unless demo is false, and env adds variables to the SDK's
// minimal default environment of the server process; for http, headers are
// sent with every request. Returns { client, stderr, close }.
export async function connect({ transport, era, server, serveArgs = [], capabilities = {}, env, demo = true, headers }) {
  const client = new Client(
    { name: 'pvemcp-e2e', version: '1.0.0' },
    { versionNegotiation: eras[era], capabilities },
  );
  let t;
  let stderr = () => (server ? server.stderr() : '');
  if (transport === 'stdio') {
    t = new StdioClientTransport({
      command: binary,
      args: ['serve', ...(demo ? ['--demo'] : []), ...serveArgs],
      env,
      stderr: 'pipe',
    });
    // The stream exists before start(); collect it so failures can show it.
    stderr = collect(t.stderr);
  } else {
    t = new StreamableHTTPClientTransport(new URL(server.url), headers ? { requestInit: { headers } } : undefined);
  }
  try {
    await client.connect(t);
  } catch (err) {
    throw new Error(`connect over ${transport} in the ${era} era failed: ${err.message}\nserver stderr:\n${stderr()}`);
  }
  return {
    client,
    stderr,
    close: () => client.close(),
  };
}

// textOf returns the concatenated text content of a tool result.
export function textOf(result) {
  return (result.content || [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

// packageBin returns the path of an installed package's executable, so it can
// be run with this Node (process.execPath) whatever node is first on PATH.
export function packageBin(pkg, name) {
  const dir = join(repoRoot, 'e2e', 'node_modules', ...pkg.split('/'));
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[name];
  if (!bin) throw new Error(`${pkg} has no executable named ${name}`);
  return join(dir, bin);
}

// run executes a command and resolves with { code, signal, stdout, stderr };
// it never rejects on a non-zero exit, and kills the command after timeoutMs.
export function run(command, args, { env, timeoutMs = 300_000, cwd } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

// startSim runs `pvemcp sim` on a free loopback port and resolves with the
// PROXMOX_VE_* variables it prints, for running `pvemcp serve` against it the
// way a user would against a real cluster.
export async function startSim(extraArgs = []) {
  const child = spawn(binary, ['sim', '--listen', '127.0.0.1:0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(child.stderr);
  const env = await new Promise((resolveEnv, reject) => {
    const vars = {};
    let out = '';
    const timer = setTimeout(() => reject(new Error(`pvemcp sim printed no PROXMOX_VE_* lines within 30s; stderr:\n${stderr()}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`pvemcp sim exited with ${code}; stderr:\n${stderr()}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      for (const line of out.split('\n')) {
        const m = /^(PROXMOX_VE_[A-Z_]+)=(.*)$/.exec(line.trim());
        // Values are single-quoted for the shell ('\'' for a quote inside).
        if (m) vars[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replaceAll("'\\''", "'");
      }
      if (vars.PROXMOX_VE_ENDPOINT && vars.PROXMOX_VE_API_TOKEN && vars.PROXMOX_VE_FINGERPRINT) {
        clearTimeout(timer);
        resolveEnv(vars);
      }
    });
  });
  return {
    env,
    stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
