import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { POSTGRES_URL, storedEvents } from '../support/databases.ts';
import { deleteTopic, KAFKA_BROKERS, kafkaSkip, quietKafka, readTopic, relayCheckpoint, schemaUrl, uniqueName, waitUntil } from '../support/kafkaBroker.ts';
import { referenceRows, tableRows, type ReadModelRows } from '../support/readModelTables.ts';
import { startLedgerProcess, waitForOutput, type ServedProcess } from '../support/servedProcess.ts';

// The partitions a projector process was last given, from its log line.
function lastAssignment(process: ServedProcess): number[] | undefined {
  const lines = [...process.output().matchAll(/kafka projector: partitions ([0-9,]*|none)/g)];
  const last = lines.at(-1)?.[1];
  return last === undefined ? undefined : last === 'none' ? [] : last.split(',').map(Number);
}

describe('projectors in Kafka mode: three processes, one consumer group, a real broker', async () => {
  const skip = await kafkaSkip();
  const schema = `t_kafka_${Date.now().toString(36)}`;
  const topic = uniqueName('ledger-test-events');
  const processes: ServedProcess[] = [];
  let db: LedgerDatabase | undefined;

  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (skip) return;
    await deleteTopic(quietKafka(), topic);
    await db?.sql.exec(`drop schema if exists ${schema} cascade`);
    await db?.close();
  });

  test('per-customer order over 6 partitions; one process SIGKILLed mid-stream; read models equal one store-polling pass', { skip, timeout: 150_000 }, async () => {
    db = await openDatabase({ databaseUrl: POSTGRES_URL, schema });
    // Owners by customer (hash): the same in any order partitions commit in, so the store-order
    // reference below must agree owner for owner.
    const ownerSettings = { LEDGER_CRM_OWNERS: 'default=alice|bob|carol', LEDGER_CRM_OWNER_ASSIGNMENT: 'hash' };
    const env = {
      ...ownerSettings,
      DATABASE_URL: schemaUrl(schema),
      KAFKA_BROKERS,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('ledger-test-projectors'),
      PROJECTOR_SOURCE: 'kafka',
      // A killed process's partitions move after this long without its heartbeats.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_RELAY_BATCH_SIZE: '50',
      LEDGER_PROJECTOR_POLL_MS: '50',
    };
    await recordHistories(db.store, 100, 0);
    const relay = await startLedgerProcess(['relay'], env);
    processes.push(relay);
    await waitForOutput(relay, /relay running/);
    const projectors: ServedProcess[] = [];
    for (let i = 0; i < 3; i += 1) {
      const projector = await startLedgerProcess(['projections', 'run'], env);
      processes.push(projector);
      projectors.push(projector);
      await waitForOutput(projector, /projectors running/);
    }
    await waitUntil('the group to settle with 2 partitions per process', async () => projectors.every((p) => lastAssignment(p)?.length === 2), 30_000);
    const [victim, ...survivors] = projectors as [ServedProcess, ...ServedProcess[]];

    // Appends continue while one projector is killed: the kill lands mid-stream by construction.
    const appending = recordHistories(db.store, 250, 100);
    await waitUntil('read models to fill in', async () => (await tableRows(db!, 'read_app')).length >= 150, 60_000, 20);
    victim.child.kill('SIGKILL');
    await victim.exited;
    await appending;

    const head = (await storedEvents(db)).at(-1)!.position;
    await waitUntil('the relay to reach the head', async () => (await relayCheckpoint(db!, topic)) === head, 60_000);
    const expected = new Map<string, ReadModelRows>();
    for (const name of READ_MODEL_NAMES) expected.set(name, await referenceRows(db, name, ownerSettings));
    const owners = new Set(expected.get('crm')!.map((row) => (JSON.parse(row.doc) as { owner: string | null }).owner));
    assert.deepEqual([...owners].sort(), ['alice', 'bob', 'carol'], 'every customer has an owner from the pool');
    await waitUntil(
      'the surviving projectors to catch up',
      async () => {
        for (const name of READ_MODEL_NAMES) {
          if (JSON.stringify(await tableRows(db!, `read_${name}`)) !== JSON.stringify(expected.get(name))) return false;
        }
        return true;
      },
      60_000,
      250,
    );
    for (const name of READ_MODEL_NAMES) {
      const live = await tableRows(db, `read_${name}`);
      assert.equal(live.length, 350, `${name} has every customer`);
      assert.deepEqual(live, expected.get(name), `${name} equals the single-process store-polling result`);
    }
    // What an operator sees now: the group's lag (nothing), not the store checkpoints' (everything).
    const statusCommand = await startLedgerProcess(['projections', 'status', '--json'], env);
    assert.equal(await statusCommand.exited, 0, statusCommand.output());
    const status = JSON.parse(statusCommand.output()) as { source: string; projections: { name: string; lagEvents: number; lagSeconds: number }[] };
    assert.equal(status.source, 'kafka');
    for (const p of status.projections) assert.deepEqual({ lagEvents: p.lagEvents, lagSeconds: p.lagSeconds }, { lagEvents: 0, lagSeconds: 0 }, p.name);

    const taken = survivors.flatMap((p) => lastAssignment(p) ?? []).sort();
    assert.deepEqual(taken, [0, 1, 2, 3, 4, 5], 'the two survivors took over all six partitions');

    // Order as consumed: each customer in one partition, its events in position order there.
    const messages = await readTopic(quietKafka(), topic);
    const partitionOf = new Map<string, number>();
    const last = new Map<string, bigint>();
    const seen = new Set<string>();
    for (const { key, partition, event } of messages) {
      assert.equal(partitionOf.get(key) ?? partition, partition, `customer ${key} stays in one partition`);
      partitionOf.set(key, partition);
      // A relay repeat may follow later events; projectors skip it. First sightings keep order.
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      assert.ok(event.position > (last.get(key) ?? 0n), `customer ${key}'s events arrive in position order`);
      last.set(key, event.position);
    }
    assert.equal(seen.size, (await storedEvents(db)).length, 'every event is in the topic');
    assert.equal(new Set(partitionOf.values()).size, 6);

    for (const p of [relay, ...survivors]) p.child.kill('SIGTERM');
    for (const p of [relay, ...survivors]) assert.equal(await p.exited, 0, p.output());
  });
});
