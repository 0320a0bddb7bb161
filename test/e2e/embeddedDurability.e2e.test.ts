import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { startLedgerProcess } from '../support/servedProcess.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';

// DESIGN.md, PGlite durability: a 2xx must mean durable in embedded mode too. Kill the
// process with SIGKILL under load; every delivery that got a 2xx must be there on restart.
const dataDir = await migratedDataDir('ledger-durability-');
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('every delivery answered 2xx survives a SIGKILL of the embedded service', async () => {
  const served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir });
  const template = stripeFixture('invoice.paid');
  const acknowledged: string[] = [];
  let sent = 0;
  let killed = false;
  const deliver = async (worker: number) => {
    while (!killed) {
      sent += 1;
      const id = `evt_durable_${worker}_${sent}`;
      const body = JSON.stringify({
        ...template,
        id,
        created: Math.floor(Date.now() / 1000),
        data: { object: { ...template.data.object, id: `in_${id}`, customer: `cus_durable_${sent % 25}` } },
      });
      const response = await fetch(`${served.url}/webhooks/stripe`, { method: 'POST', headers: signedStripeHeaders(body), body }).catch(() => undefined);
      if (response?.status === 200) acknowledged.push(id);
      if (acknowledged.length >= 150 && !killed) {
        killed = true;
        served.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 12 }, (_, w) => deliver(w)));
  await served.exited;
  assert.ok(acknowledged.length >= 150);

  const db = await openDatabase({ dataDir });
  try {
    const { rows } = await db.sql.query<{ source_event_id: string }>(
      `select source_event_id from ledger_deliveries where source = 'stripe' and source_event_id = any($1::text[])`,
      [acknowledged],
    );
    const stored = new Set(rows.map((r) => r.source_event_id));
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged deliveries were lost`);
  } finally {
    await db.close();
  }
});
