import { linkSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

// PGlite is PostgreSQL inside this process, and it takes no lock on its files (the postmaster.pid
// it writes holds -42): a second process opening the same data directory (another `ledger
// serve`, a CLI command while the service listens on another port, a script) writes beside the
// first, and the store ends up unreadable. So the first opener holds `ledger.lock` in the
// directory with its process id, as PostgreSQL's postmaster.pid does, and a second is refused,
// told who holds it. A lock whose process is gone (killed, crashed) is taken over; a live one
// never is. Within one process a directory may be opened again (tests do): the lock is counted.

export const LOCK_FILE = 'ledger.lock';

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the embedded store ${dataDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}): one process at a time opens it. ` +
        'Stop that process, reach it through its service (LEDGER_URL), or use PostgreSQL (DATABASE_URL) for several processes. ' +
        `If no such process runs, delete ${join(dataDir, LOCK_FILE)}`,
    );
    this.name = 'DataDirInUseError';
  }
}

// The directory cannot hold a store for this process (not writable, a file in its place, a
// read-only filesystem): the operator's to fix, said in one line (main.ts), not as a stack. The
// usual case is a volume owned by root mounted into the image, which runs as `node`.
export class DataDirUnusableError extends Error {
  constructor(dataDir: string, cause: NodeJS.ErrnoException) {
    super(
      `the embedded store's directory ${dataDir} cannot be used by this process (${cause.code ?? cause.message}): ` +
        'make it writable by this user (a mounted volume: its owner), point LEDGER_DATA_DIR elsewhere, or use PostgreSQL (DATABASE_URL)',
    );
    this.name = 'DataDirUnusableError';
  }
}

const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'EEXIST', 'ENOTDIR']);

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export interface DataDirLock {
  release(): void;
}

const held = new Map<string, number>();

export function lockDataDir(dataDir: string): DataDirLock {
  const directory = resolve(dataDir);
  const count = held.get(directory);
  if (count !== undefined) {
    held.set(directory, count + 1);
    return once(() => releaseHeld(directory));
  }
  try {
    // A new store's directory, parents too (a path nobody created yet is not an error).
    mkdirSync(directory, { recursive: true });
    acquire(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && UNUSABLE.has(code)) throw new DataDirUnusableError(directory, error as NodeJS.ErrnoException);
    throw error;
  }
  held.set(directory, 1);
  return once(() => releaseHeld(directory));
}

// Up to ~1 s for other processes taking over the same stale lock at the same moment.
const ATTEMPTS = 50;

function acquire(directory: string): void {
  const path = join(directory, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    if (tryLink(path, mine)) return;
    const holder = readHolder(path);
    if (holder === undefined) continue; // released meanwhile
    if (isAlive(holder.pid)) throw new DataDirInUseError(directory, holder);
    if (!removeStale(path, holder)) pause(20);
  }
  const holder = readHolder(path);
  throw new DataDirInUseError(directory, holder ?? { pid: 0, host: 'unknown', since: 'unknown' });
}

// Written whole under another name, then linked into place: link fails if a lock exists (no
// check-then-create race), and a reader never sees a half-written lock. Where the filesystem has
// no hard links, created exclusively instead (a reader may then see it empty for a moment, and
// refuses: the safe side).
function tryLink(path: string, mine: LockHolder): boolean {
  const draft = `${path}.${process.pid}`;
  writeFileSync(draft, JSON.stringify(mine));
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return tryCreate(path, mine);
    throw error;
  } finally {
    unlinkSync(draft);
  }
}

function tryCreate(path: string, mine: LockHolder): boolean {
  try {
    writeFileSync(path, JSON.stringify(mine), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

// Only the process holding the takeover mutex (a directory: mkdir is atomic) removes a stale
// lock, and only if the file is still the one judged stale: nobody else can remove it meanwhile,
// and nobody can link a new one while it is there. The others wait and look again. A mutex left
// by a process that died inside these few lines is cleared after 10 s. False: wait, then retry.
function removeStale(path: string, stale: LockHolder): boolean {
  const mutex = `${path}.takeover`;
  try {
    mkdirSync(mutex);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const made = statSync(mutex, { throwIfNoEntry: false })?.mtimeMs;
    if (made !== undefined && Date.now() - made > 10_000) rmSync(mutex, { recursive: true, force: true });
    return false;
  }
  try {
    const current = readHolder(path);
    if (current !== undefined && current.pid === stale.pid && current.since === stale.since) unlinkSync(path);
    return true;
  } finally {
    rmSync(mutex, { recursive: true, force: true });
  }
}

const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    return { pid: Number(parsed.pid), host: String(parsed.host ?? 'unknown'), since: String(parsed.since ?? 'unknown') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable: a lock nobody can judge is left alone, and named.
    return { pid: Number.NaN, host: 'unknown', since: 'unknown' };
  }
}

// This process's own pid in a lock it does not hold is a previous run's (a container restarted
// under the same pid). EPERM: the process exists but belongs to another user.
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid)) return true; // unreadable: not this process's to judge
  if (pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseHeld(directory: string): void {
  const count = held.get(directory);
  if (count === undefined) return;
  if (count > 1) {
    held.set(directory, count - 1);
    return;
  }
  held.delete(directory);
  removeIfMine(directory);
}

function removeIfMine(directory: string): void {
  const path = join(directory, LOCK_FILE);
  if (readHolder(path)?.pid !== process.pid) return;
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

const once = (release: () => void): DataDirLock => {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
};

// A process that ends without closing its store (an uncaught error, process.exit) leaves no lock
// behind; one killed outright does, and the next opener finds its process gone.
process.on('exit', () => {
  for (const directory of held.keys()) removeIfMine(directory);
});
