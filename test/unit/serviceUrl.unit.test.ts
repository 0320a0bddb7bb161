import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DoctorEnv } from '../../contracts/doctorEnv.ts';
import { serviceUrl } from '../../services/cli/ledgerAccess.ts';

// Every CLI command that may find the embedded store held by a running service asks this address
// first; a wrong one makes it open PGlite's files beside the service (two processes on one store).
test('LEDGER_URL: unset or empty means the default; trailing slashes and spaces are dropped', () => {
  assert.equal(serviceUrl({}), 'http://127.0.0.1:3000');
  assert.equal(serviceUrl({ LEDGER_URL: '' }), 'http://127.0.0.1:3000');
  assert.equal(serviceUrl({ LEDGER_URL: '  ' }), 'http://127.0.0.1:3000');
  assert.equal(serviceUrl({ LEDGER_URL: ' http://ledger.internal:8080// ' }), 'http://ledger.internal:8080');
  assert.equal(serviceUrl({ LEDGER_URL: 'https://ops.example.com/ledger/' }), 'https://ops.example.com/ledger');
});

test("doctor's LEDGER_URL is the same address: its network check appends paths to it", () => {
  for (const url of ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/', 'https://ops.example.com/ledger//']) {
    assert.equal(DoctorEnv.parse({ LEDGER_URL: url }).LEDGER_URL, serviceUrl({ LEDGER_URL: url }));
  }
  assert.equal(DoctorEnv.parse({}).LEDGER_URL, serviceUrl({}));
});
