import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations } from '../../services/eventstore/migrations.ts';
import { createPgliteClient } from '../../services/eventstore/pgliteClient.ts';
import { allMigrations } from '../../services/schema.ts';

// A new embedded store spends ~3 s of CPU in PGlite's initdb before it can serve; a copy of a
// migrated one starts at once. Spawned `ledger serve` and CLI processes cannot be handed a
// template the way in-process tests are (databases.ts, `startFrom`), so their data directory is
// made a file copy of one, made once per machine. (health.e2e still starts once from an empty
// directory, as a newcomer's first `npm start` does.)
let template: Promise<string> | undefined;

// Names a kept copy of a migrated store: it changes with the migrations and the PGlite version.
export async function migratedStoreKey(): Promise<string> {
  const version = await readFile(join(process.cwd(), 'node_modules/@electric-sql/pglite/package.json'), 'utf8').catch(() => '');
  return createHash('sha256').update(version).update(JSON.stringify(allMigrations)).digest('hex').slice(0, 16);
}

async function migratedTemplate(): Promise<string> {
  const path = join(tmpdir(), `ledger-test-datadir-${await migratedStoreKey()}`);
  if (existsSync(path)) return path;
  // Made whole under another name, closed cleanly, then renamed: a process that copies it never
  // sees half a store. Two processes making it at once: the second rename fails, its copy goes.
  const partial = `${path}.${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const sql = await createPgliteClient(partial);
  try {
    await applyMigrations(sql, allMigrations);
  } finally {
    await sql.close();
  }
  try {
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(path)) throw error;
  }
  return path;
}

// A new temporary data directory holding a migrated, empty embedded store.
export async function migratedDataDir(prefix: string): Promise<string> {
  const from = await (template ??= migratedTemplate());
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(from, dir, { recursive: true });
  return dir;
}
