import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseEvents } from '../../services/cli/events.ts';
import { parse as parseParked } from '../../services/cli/parked.ts';
import { parse as parseReplay } from '../../services/cli/replay.ts';
import { parse as parseState } from '../../services/cli/state.ts';
import { colorEnabled, renderTable, type Column } from '../../services/cli/terminalTable.ts';

// What the incident commands print, and the command lines they accept.

interface Row {
  id: string;
  name: string;
  state: 'active' | 'needs_review';
}
const rows: Row[] = [
  { id: '7', name: 'Ada', state: 'active' },
  { id: '12', name: 'Grace Hopper', state: 'needs_review' },
];
const columns: Column<Row>[] = [
  { header: '#', cell: (r) => r.id, align: 'right' },
  { header: 'name', cell: (r) => r.name, maxWidth: 8 },
  { header: 'state', cell: (r) => r.state, color: (r) => (r.state === 'active' ? 'green' : 'red') },
];
const ESC = '\u001b';

describe('terminal table', () => {
  test('columns are aligned; long cells are cut; no trailing blanks', () => {
    assert.equal(renderTable(rows, columns, { color: false }), [' #  name      state', ' 7  Ada       active', '12  Grace H…  needs_review', ''].join('\n'));
  });

  test('colour only when asked, and it does not shift the columns', () => {
    const plain = renderTable(rows, columns, { color: false });
    const coloured = renderTable(rows, columns, { color: true });
    assert.ok(!plain.includes(ESC));
    assert.ok(coloured.includes(`${ESC}[32mactive${ESC}[39m`));
    assert.equal(coloured.replace(/\u001b\[\d+m/g, ''), plain);
  });

  test('colour for a terminal, unless NO_COLOR is set; never for a pipe', () => {
    assert.equal(colorEnabled({ isTTY: true }, {}), true);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), true);
    assert.equal(colorEnabled({ isTTY: false }, {}), false);
    assert.equal(colorEnabled({}, {}), false);
  });

  test('control characters from the data cannot reach the terminal', () => {
    const hostile: Row[] = [{ id: '1', name: `x${ESC}[2J\ny`, state: 'active' }];
    const out = renderTable(hostile, columns, { color: false });
    assert.ok(!out.includes(ESC));
    assert.equal(out.split('\n').length, 3);
  });
});

describe('incident command lines', () => {
  test('a customer by id, external ref or bare e-mail', () => {
    assert.equal(parseEvents(['cust_abc123']).ref, 'cust_abc123');
    assert.equal(parseEvents(['stripe:cus_123']).ref, 'stripe:cus_123');
    assert.equal(parseEvents(['Ada@Example.com']).ref, 'email:Ada@Example.com');
    assert.equal(parseEvents(['cust_abc123', '--json']).json, true);
    assert.throws(() => parseEvents(['paypal:123']), { code: 'LEDGER_VALIDATION' });
    assert.throws(() => parseEvents([]), /one customer/);
    assert.throws(() => parseEvents(['cust_a1', '--frobnicate']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });

  test('state --at takes a version or an ISO time', () => {
    assert.deepEqual(parseState(['cust_a1', '--at', '12']).at, { kind: 'version', version: 12 });
    assert.deepEqual(parseState(['cust_a1', '--at', '2026-03-01T12:00:00+01:00']).at, { kind: 'time', at: '2026-03-01T11:00:00.000Z' });
    assert.equal(parseState(['cust_a1']).at, undefined);
    assert.throws(() => parseState(['cust_a1', '--at', 'last tuesday']), { code: 'LEDGER_VALIDATION' });
  });

  test('replay: one customer or --all, never both or neither', () => {
    assert.deepEqual(parseReplay(['--all', '--since', '2026-03-01T00:00:00Z']), { target: { kind: 'all' }, since: '2026-03-01T00:00:00.000Z', json: false });
    assert.deepEqual(parseReplay(['stripe:cus_1']).target, { kind: 'customer', ref: 'stripe:cus_1' });
    assert.throws(() => parseReplay([]), /one customer, or --all/);
    assert.throws(() => parseReplay(['--all', 'cust_a1']), /one customer, or --all/);
  });

  test('parked: skip needs a reason; retry needs ids or --all', () => {
    assert.deepEqual(parseParked(['skip', '42', '--reason', 'bad import']), { action: 'skip', id: '42', reason: 'bad import', json: false });
    assert.throws(() => parseParked(['skip', '42']), { code: 'LEDGER_VALIDATION' });
    assert.deepEqual(parseParked(['retry', '--all']), { action: 'retry', request: { all: true }, json: false });
    assert.deepEqual(parseParked(['retry', '1', '2']), { action: 'retry', request: { ids: ['1', '2'] }, json: false });
    assert.throws(() => parseParked(['retry']), /ids, or --all/);
    assert.throws(() => parseParked(['retry', 'x1']), { code: 'LEDGER_VALIDATION' });
    assert.deepEqual(parseParked(['list', '--projection', 'crm']), { action: 'list', projection: 'crm', status: 'parked', json: false });
  });
});
