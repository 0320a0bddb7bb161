import { userInfo } from 'node:os';
import { LedgerError } from '../../domain/errors.ts';
import { recordAudit } from '../admin/auditLog.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';

// Who runs a changing CLI command directly against the store (no API key to name them):
// LEDGER_ACTOR when set (a shared bastion account says little), else the OS user.
export function cliActor(env: Record<string, string | undefined> = process.env): string {
  const named = env.LEDGER_ACTOR?.trim();
  if (named) return `cli:${named.slice(0, 200)}`;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

// Runs a direct change and writes its audit row, whatever the outcome. Role `direct`: whoever
// holds the database credentials can do anything an admin key can.
export async function audited<T>(
  sql: SqlExecutor,
  entry: { actor: string; command: string; target: string | null; reason?: string; detail?: Record<string, unknown> },
  change: () => Promise<T>,
): Promise<T> {
  const record = (status: number, detail: Record<string, unknown>) =>
    recordAudit(sql, {
      principal: entry.actor,
      role: 'direct',
      method: 'CLI',
      route: entry.command,
      target: entry.target,
      reason: entry.reason ?? null,
      status,
      correlationId: null,
      detail: { ...entry.detail, ...detail },
    });
  try {
    const result = await change();
    await record(200, {});
    return result;
  } catch (error) {
    await record(error instanceof LedgerError ? error.status : 500, { error: error instanceof LedgerError ? error.code : 'LEDGER_INTERNAL' }).catch(() => {});
    throw error;
  }
}
