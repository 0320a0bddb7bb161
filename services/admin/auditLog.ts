import type { Migration } from '../eventstore/migrations.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';

// Who did what to the ledger by hand, and what came of it: every admin API request (refused ones
// included) and every mutating CLI command run directly against the store. Append-only, like
// the events: an audit trail that can be edited proves nothing.

export const auditMigrations: Migration[] = [
  {
    id: '0005_admin_audit',
    sql: `
create table ledger_admin_audit (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  -- apikey:<fingerprint> (never the key), cli:<user>, or null when no key was recognised.
  principal text,
  role text,
  method text not null,
  route text not null,
  target text,
  reason text,
  status int not null,
  correlation_id text,
  detail jsonb
);
create index ledger_admin_audit_target on ledger_admin_audit (target, id);
create function ledger_admin_audit_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'ledger_admin_audit is append-only: % refused', tg_op using errcode = 'LDG04';
end $$;
create trigger ledger_admin_audit_immutable before update or delete on ledger_admin_audit
  for each row execute function ledger_admin_audit_refuse_change();
`,
  },
];

export interface AuditRecord {
  principal: string | null;
  role: string | null;
  method: string;
  route: string;
  target: string | null;
  reason: string | null;
  status: number;
  correlationId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditEntry extends AuditRecord {
  id: string;
  at: string;
}

export async function recordAudit(sql: SqlExecutor, record: AuditRecord): Promise<void> {
  await sql.query(
    `insert into ledger_admin_audit (principal, role, method, route, target, reason, status, correlation_id, detail)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
    [
      record.principal,
      record.role,
      record.method,
      record.route,
      record.target,
      record.reason,
      record.status,
      record.correlationId,
      record.detail === null ? null : JSON.stringify(record.detail),
    ],
  );
}

// Newest first; `before` pages back through older entries.
export async function listAudit(
  sql: SqlExecutor,
  options: { limit: number; before?: string; target?: string },
): Promise<{ entries: AuditEntry[]; next: string | null }> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `select id::text as id, at, principal, role, method, route, target, reason, status, correlation_id, detail
       from ledger_admin_audit
      where ($1::bigint is null or id < $1::bigint) and ($2::text is null or target = $2)
      order by ledger_admin_audit.id desc limit $3::int`,
    [options.before ?? null, options.target ?? null, options.limit],
  );
  const entries = rows.map(
    (r): AuditEntry => ({
      id: String(r.id),
      at: r.at instanceof Date ? r.at.toISOString() : new Date(String(r.at)).toISOString(),
      principal: nullableText(r.principal),
      role: nullableText(r.role),
      method: String(r.method),
      route: String(r.route),
      target: nullableText(r.target),
      reason: nullableText(r.reason),
      status: Number(r.status),
      correlationId: nullableText(r.correlation_id),
      detail: isRecord(r.detail) ? r.detail : null,
    }),
  );
  return { entries, next: entries.length === options.limit ? (entries.at(-1)?.id ?? null) : null };
}

const nullableText = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
