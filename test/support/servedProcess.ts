import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';
import { TEST_ENV } from './testApp.ts';

export interface ServedProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// `ledger <args>` as a real child process with the test secrets and nothing from this shell.
export async function startLedgerProcess(args: string[], env: Record<string, string>): Promise<ServedProcess> {
  const port = await freePort();
  const base = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete base[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
    env: { ...base, ...TEST_ENV, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  if (args[0] === 'serve') {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ledger ${args.join(' ')} exited:\n${output}`);
      if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`ledger serve not ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, child, exited, output: () => output };
}

export async function waitForOutput(served: ServedProcess, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(served.output())) {
    if (served.child.exitCode !== null) throw new Error(`exited before ${pattern}:\n${served.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${served.output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
