import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { POSTGRES_URL } from '../support/databases.ts';
import { deleteTopic, KAFKA_BROKERS, kafkaSkip, quietKafka, schemaUrl, uniqueName } from '../support/kafkaBroker.ts';
import { startLedgerProcess } from '../support/servedProcess.ts';

// `ledger relay` with KAFKA_INBOUND_TOPIC naming a topic nobody created: it hung for ever,
// relaying nothing (the inbound consumer failed, the store closed under the running relay, and
// its loop failed on the closed pool) and never said why.
describe('ledger relay with an inbound topic that does not exist, a real broker', async () => {
  const skip = await kafkaSkip();
  const schema = `t_inb_${Date.now().toString(36)}`;
  const topic = uniqueName('ledger-test-events');

  after(async () => {
    if (skip) return;
    await deleteTopic(quietKafka(), topic);
    const db = await openDatabase({ databaseUrl: POSTGRES_URL, migrate: false });
    await db.sql.exec(`drop schema if exists ${schema} cascade`).finally(() => db.close());
  });

  test('exits 1 in one line naming the variable, instead of running on without it', { skip, timeout: 90_000 }, async () => {
    const inbound = uniqueName('ledger-test-no-such-inbound');
    // The store the relay reads: created and migrated.
    await (await openDatabase({ databaseUrl: POSTGRES_URL, schema })).close();
    const relay = await startLedgerProcess(['relay'], {
      DATABASE_URL: schemaUrl(schema),
      KAFKA_BROKERS,
      KAFKA_TOPIC: topic,
      KAFKA_INBOUND_TOPIC: inbound,
    });
    const exited = await Promise.race([relay.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 60_000))]);
    if (exited === 'running') relay.child.kill('SIGKILL');
    assert.equal(exited, 1, relay.output());
    const lines = relay.output().trimEnd().split('\n');
    assert.equal(lines.at(-1), `ledger: KAFKA_INBOUND_TOPIC ${inbound} does not exist on ${KAFKA_BROKERS}: create it (its producers publish there), or unset the variable`);
  });
});
