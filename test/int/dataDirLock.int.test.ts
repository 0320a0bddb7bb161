import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../services/eventstore/dataDirLock.ts';

// The embedded store's files are opened by one process at a time (services/eventstore/dataDirLock.ts).
// Other processes are real child processes here: the lock is about them.

const MODULE = pathToFileURL(join(import.meta.dirname, '../../services/eventstore/dataDirLock.ts')).href;

// A child that takes the lock, says so (or why not), holds it `holdMs`, then releases it, or
// exits without releasing when `release` is false. `startAt` (epoch ms): children spinning until
// the same instant contend within a millisecond or so.
function child(dir: string, holdMs: number, release = true, startAt = 0): Promise<string> {
  const script = `
    const { lockDataDir } = await import(${JSON.stringify(MODULE)});
    while (Date.now() < ${startAt});
    try {
      const lock = lockDataDir(${JSON.stringify(dir)});
      console.log('locked');
      setTimeout(() => { if (${release}) lock.release(); }, ${holdMs});
    } catch (error) {
      console.log(error.name + ': ' + error.message);
    }`;
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    process_.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    process_.on('error', reject);
    process_.on('exit', () => resolve(out.trim()));
  });
}

const holderOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; host: string; since: string };
const deadPid = (): number => {
  const gone = spawnSync(process.execPath, ['-e', '0']);
  return gone.pid!;
};

describe('the embedded store is opened by one process at a time', () => {
  const root = mkdtempSync(join(tmpdir(), 'ledger-lock-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const freshDir = () => join(root, `store-${(n += 1)}`);

  test('another process is refused while this one holds it, told which process and how to go on; it opens once released', async () => {
    const dir = freshDir();
    const lock = lockDataDir(dir);
    const refused = await child(dir, 0);
    assert.match(refused, new RegExp(`^DataDirInUseError: the embedded store ${dir} is in use by process ${process.pid} on `));
    assert.match(refused, /Stop that process, reach it through its service \(LEDGER_URL\), or use PostgreSQL \(DATABASE_URL\)/);
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    assert.equal(await child(dir, 0), 'locked');
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released by the other process');
  });

  test('a directory that does not exist yet is created, parents too', () => {
    const dir = join(freshDir(), 'a', 'b', '.ledger');
    const lock = lockDataDir(dir);
    assert.equal(holderOf(dir).pid, process.pid);
    lock.release();
  });

  test('a lock left by a process that is gone is taken over; an unreadable one is not', () => {
    const dir = freshDir();
    lockDataDir(dir).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'vm', since: '2026-01-01T00:00:00.000Z' }));
    const lock = lockDataDir(dir);
    assert.equal(holderOf(dir).pid, process.pid);
    lock.release();

    writeFileSync(join(dir, LOCK_FILE), 'half a lo');
    assert.throws(() => lockDataDir(dir), DataDirInUseError);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), 'half a lo', 'left for a human to judge');
  });

  test("a lock naming this process that it does not hold is a previous run's (a restarted container keeps its pid)", () => {
    const dir = freshDir();
    lockDataDir(dir).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: 'vm', since: '2026-01-01T00:00:00.000Z' }));
    const lock = lockDataDir(dir);
    assert.notEqual(holderOf(dir).since, '2026-01-01T00:00:00.000Z');
    lock.release();
  });

  test('within one process it may be opened again; the lock goes with the last release, once', async () => {
    const dir = freshDir();
    const first = lockDataDir(dir);
    const second = lockDataDir(dir);
    first.release();
    first.release();
    assert.match(await child(dir, 0), /^DataDirInUseError/);
    second.release();
    assert.equal(await child(dir, 0), 'locked');
  });

  test('a process that ends without releasing leaves no lock behind', async () => {
    const dir = freshDir();
    assert.equal(await child(dir, 0, false), 'locked');
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  test('processes taking over the same stale lock at once: exactly one gets it', async () => {
    for (let round = 0; round < 3; round += 1) {
      const dir = freshDir();
      lockDataDir(dir).release();
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'vm', since: '2026-01-01T00:00:00.000Z' }));
      const startAt = Date.now() + 2_500;
      const outcomes = await Promise.all(Array.from({ length: 4 }, () => child(dir, 1_000, true, startAt)));
      assert.equal(outcomes.filter((o) => o === 'locked').length, 1, outcomes.join('\n'));
      assert.equal(outcomes.filter((o) => o.startsWith('DataDirInUseError')).length, 3, outcomes.join('\n'));
    }
  });

  test('a takeover mutex left by a process that died taking over is cleared after 10 s', () => {
    const dir = freshDir();
    lockDataDir(dir).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'vm', since: '2026-01-01T00:00:00.000Z' }));
    mkdirSync(join(dir, `${LOCK_FILE}.takeover`));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, `${LOCK_FILE}.takeover`), old, old);
    const lock = lockDataDir(dir);
    assert.equal(holderOf(dir).pid, process.pid);
    assert.equal(existsSync(join(dir, `${LOCK_FILE}.takeover`)), false);
    lock.release();
  });
});
