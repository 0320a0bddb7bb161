import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyError, IdentityConflictError, LedgerError } from '../../domain/errors.ts';
import { translateStoreError } from '../../services/eventstore/postgresEventStore.ts';

// What a provider sees when the store is in trouble decides whether it retries: 503, never 500.
test('driver failures that mean "retry later" become LEDGER_STORE_UNAVAILABLE', () => {
  const unavailable = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('timeout exceeded when trying to connect'),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    new Error('Cannot use a pool after calling end on the pool'),
    // Before one shared list, only the HTTP error handler knew these: the store passed them on as 500s.
    Object.assign(new Error('server closed the connection unexpectedly'), { code: '08006' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('getaddrinfo EAI_AGAIN db'), { code: 'EAI_AGAIN' }),
    Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    new Error('Query read timeout'),
    // A route to the database host lost (a network change, a host down behind a router).
    Object.assign(new Error('connect EHOSTUNREACH 10.0.0.5:5432'), { code: 'EHOSTUNREACH' }),
    Object.assign(new Error('connect ENETUNREACH 10.0.0.5:5432'), { code: 'ENETUNREACH' }),
  ];
  for (const error of unavailable) {
    const translated = translateStoreError(error);
    assert.ok(translated instanceof LedgerError && translated.code === 'LEDGER_STORE_UNAVAILABLE', error.message);
  }
});

test('version and identity conflicts keep their types; anything else passes through', () => {
  assert.ok(translateStoreError({ code: 'LDG01' }, 's', 3) instanceof ConcurrencyError);
  assert.ok(translateStoreError({ code: '23505', constraint: 'ledger_events_stream_version' }, 's', 3) instanceof ConcurrencyError);
  assert.ok(translateStoreError({ code: 'LDG02', detail: 'cust_x', hint: 'stripe' }) instanceof IdentityConflictError);
  const bug = new Error('column "nope" does not exist');
  assert.equal(translateStoreError(bug), bug);
});
