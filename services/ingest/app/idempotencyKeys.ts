import { randomUUID } from 'node:crypto';
import type { Migration } from '../../eventstore/migrations.ts';
import type { SqlExecutor } from '../../eventstore/sqlClient.ts';

// Idempotency-Key records for the app API (the IETF httpapi idempotency-key draft, as Stripe
// runs it). The first request with a key claims a row with INSERT … ON CONFLICT, in the same
// database as the events, so of two concurrent requests exactly one runs; the other is told the
// first is in flight. The finished response is stored and replayed byte for byte.
//
// The row is a convenience on top of the event store's own dedup: the command carries the same
// key as its (source, sourceEventId), so a request re-run after a crash, an expired lease or a
// pruned row appends nothing new and answers with the same body.
export const idempotencyKeyMigrations: Migration[] = [
  {
    id: '0003_idempotency_keys',
    sql: `
create table ledger_idempotency_keys (
  api_key_fingerprint text not null,
  idempotency_key text not null,
  request_hash text not null,
  state text not null check (state in ('in_flight', 'completed')),
  claim_token uuid,
  locked_until timestamptz,
  response_status int,
  response_body text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (api_key_fingerprint, idempotency_key)
);
create index ledger_idempotency_keys_created on ledger_idempotency_keys (created_at);
`,
  },
];

// Long enough for any request that is still alive; a crashed one frees its key after this.
const LEASE_SECONDS = 60;
// Stripe keeps keys for 24 hours; a retry later than that still appends nothing (see above).
export const IDEMPOTENCY_KEY_RETENTION_HOURS = 24;

export interface IdempotencyScope {
  apiKeyFingerprint: string;
  idempotencyKey: string;
  requestHash: string;
}

export type Claim =
  | { outcome: 'claimed'; token: string }
  | { outcome: 'replay'; status: number; body: string }
  | { outcome: 'reused' }
  | { outcome: 'in_flight' };

interface KeyRow {
  request_hash: string;
  state: 'in_flight' | 'completed';
  response_status: number | null;
  response_body: string | null;
}

// A lapsed lease (its request died) may be taken over, but only for the same request.
const CLAIM_SQL = `
insert into ledger_idempotency_keys (api_key_fingerprint, idempotency_key, request_hash, state, claim_token, locked_until)
values ($1, $2, $3, 'in_flight', $4::uuid, now() + make_interval(secs => $5))
on conflict (api_key_fingerprint, idempotency_key) do update
   set claim_token = excluded.claim_token, locked_until = excluded.locked_until
 where ledger_idempotency_keys.state = 'in_flight'
   and ledger_idempotency_keys.locked_until < now()
   and ledger_idempotency_keys.request_hash = excluded.request_hash
returning claim_token::text as token`;

export async function claimIdempotencyKey(sql: SqlExecutor, scope: IdempotencyScope): Promise<Claim> {
  const params = [scope.apiKeyFingerprint, scope.idempotencyKey, scope.requestHash];
  // A row can vanish between the failed claim and the read (its request failed and released
  // it); then claim again. Twice is enough: a third loss means another request holds it now.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const token = randomUUID();
    const claimed = await sql.query<{ token: string }>(CLAIM_SQL, [...params, token, LEASE_SECONDS]);
    if (claimed.rows[0]?.token === token) return { outcome: 'claimed', token };
    const { rows } = await sql.query<KeyRow>(
      `select request_hash, state, response_status, response_body from ledger_idempotency_keys
        where api_key_fingerprint = $1 and idempotency_key = $2`,
      params.slice(0, 2),
    );
    const row = rows[0];
    if (row === undefined) continue;
    if (row.request_hash !== scope.requestHash) return { outcome: 'reused' };
    if (row.state === 'completed' && row.response_status !== null && row.response_body !== null) {
      return { outcome: 'replay', status: row.response_status, body: row.response_body };
    }
    return { outcome: 'in_flight' };
  }
  return { outcome: 'in_flight' };
}

export async function completeIdempotencyKey(
  sql: SqlExecutor,
  scope: IdempotencyScope,
  token: string,
  response: { status: number; body: string },
): Promise<void> {
  await sql.query(
    `update ledger_idempotency_keys
        set state = 'completed', response_status = $4, response_body = $5, completed_at = now(), claim_token = null, locked_until = null
      where api_key_fingerprint = $1 and idempotency_key = $2 and claim_token = $3::uuid`,
    [scope.apiKeyFingerprint, scope.idempotencyKey, token, response.status, response.body],
  );
}

// A request that failed stores nothing: the client may retry with the same key, and the retry
// runs again (a failure may be transient, and a 4xx may not hold once other facts arrive).
export async function releaseIdempotencyKey(sql: SqlExecutor, scope: IdempotencyScope, token: string): Promise<void> {
  await sql.query(
    `delete from ledger_idempotency_keys
      where api_key_fingerprint = $1 and idempotency_key = $2 and claim_token = $3::uuid and state = 'in_flight'`,
    [scope.apiKeyFingerprint, scope.idempotencyKey, token],
  );
}

export async function pruneIdempotencyKeys(sql: SqlExecutor, retentionHours = IDEMPOTENCY_KEY_RETENTION_HOURS): Promise<number> {
  const { rowCount } = await sql.query(
    `delete from ledger_idempotency_keys
      where created_at < now() - make_interval(hours => $1) and (state = 'completed' or locked_until < now())`,
    [retentionHours],
  );
  return rowCount;
}
