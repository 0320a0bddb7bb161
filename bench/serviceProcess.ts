import { closeSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RunningService {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// SIGTERM, and wait for the exit. Already gone (killed from outside): waiting for 'exit' would
// never end.
export const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

// The service's V8 settings as `npm start` and the Dockerfile run it (a later
// BENCH_SERVICE_NODE_ARGS flag overrides one of them).
const SHIPPED_NODE_ARGS = ['--max-semi-space-size=64'];

// `ledger serve` as its own process, so the load generator never shares its event loop.
export async function startService(env: Record<string, string>): Promise<RunningService> {
  const port = await freePort();
  // BENCH_SERVICE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the service under load.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  // Logs at warn by default; BENCH_LOG_LEVEL=info measures the shipped default (two JSON lines
  // per request), written to a file as a deployment's log collector would take them.
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const logFile = logLevel === 'warn' ? undefined : join(tmpdir(), `ledger-bench-service-${port}.log`);
  const logs = logFile === undefined ? 'inherit' : openSync(logFile, 'w');
  const child = spawn(process.execPath, [...SHIPPED_NODE_ARGS, ...nodeArgs, '--import', 'tsx', 'services/cli/main.ts', 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: logLevel, NODE_ENV: 'test', ...env },
    stdio: ['ignore', logs, 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error('service did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    stop: async () => {
      await stopChild(child);
      if (typeof logs === 'number') closeSync(logs);
      if (logFile !== undefined) rmSync(logFile, { force: true });
    },
  };
}

// `ledger projections run` beside a service started with LEDGER_PROJECTOR=off (PostgreSQL only):
// the read models kept by their own process, as the README's scale-out section runs them.
export async function startProjectors(env: Record<string, string>): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...SHIPPED_NODE_ARGS, ...nodeArgs, '--import', 'tsx', 'services/cli/main.ts', 'projections', 'run'], {
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('projectors did not start')), 30_000);
    child.once('exit', (code) => reject(new Error(`projectors exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('projectors running')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    child,
    stop: () => stopChild(child),
  };
}
