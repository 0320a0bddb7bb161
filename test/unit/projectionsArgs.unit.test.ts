import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../services/cli/incidentCommand.ts';
import { parse } from '../../services/cli/projections.ts';

// A mistyped option must not be taken as the command the operator meant (`status --jsno` printed
// the table; `rebuild crm app` rebuilt crm alone, silently).
test('ledger projections status|rebuild refuse arguments they do not take', () => {
  assert.deepEqual(parse(['status', '--json']), { action: 'status', json: true });
  assert.deepEqual(parse(['rebuild', 'crm']), { action: 'rebuild', name: 'crm' });
  for (const args of [['status', '--jsno'], ['rebuild', 'crm', 'app'], ['rebuild']]) {
    assert.throws(() => parse(args), UsageError, args.join(' '));
  }
});
