import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { POSTGRES_URL, storedEvents } from '../support/databases.ts';
import {
  deleteTopic,
  KAFKA_BROKERS,
  kafkaSkip,
  privateBroker,
  quietKafka,
  readTopic,
  relayCheckpoint,
  schemaUrl,
  uniqueName,
  waitUntil,
  type PrivateBroker,
} from '../support/kafkaBroker.ts';
import { referenceRows, tableRows } from '../support/readModelTables.ts';
import { freePort, startLedgerProcess, waitForOutput, type ServedProcess } from '../support/servedProcess.ts';

const countById = (ids: string[]) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

describe('the relay across restarts of itself and of the broker', async () => {
  const skip = await kafkaSkip();
  const schemas: string[] = [];
  const processes: ServedProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let db: LedgerDatabase | undefined;

  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    for (const schema of schemas) await db?.sql.exec(`drop schema if exists ${schema} cascade`);
    await db?.close();
  });

  const openSchema = async () => {
    const schema = `t_relay_${Date.now().toString(36)}`;
    schemas.push(schema);
    db = await openDatabase({ databaseUrl: POSTGRES_URL, schema });
    return { db, url: schemaUrl(schema) };
  };
  const relayProcess = async (env: Record<string, string>) => {
    const relay = await startLedgerProcess(['relay'], env);
    processes.push(relay);
    await waitForOutput(relay, /relay running/);
    return relay;
  };

  test('a clean stop resumes from the checkpoint with nothing produced twice; a SIGKILL loses nothing', { skip, timeout: 120_000 }, async () => {
    const { db, url } = await openSchema();
    const topic = uniqueName('ledger-test-restart');
    cleanups.push(() => deleteTopic(quietKafka(), topic));
    // Small batches: many checkpoints, so a stop lands between two of them.
    const env = { DATABASE_URL: url, KAFKA_BROKERS, KAFKA_TOPIC: topic, KAFKA_RELAY_BATCH_SIZE: '5', LEDGER_PROJECTOR_POLL_MS: '50' };
    await recordHistories(db.store, 120, 0);
    const firstHead = (await storedEvents(db)).at(-1)!.position;

    const first = await relayProcess(env);
    await waitUntil('a first checkpoint', async () => (await relayCheckpoint(db, topic)) > 0n, 30_000, 5);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    const stoppedAt = await relayCheckpoint(db, topic);
    assert.ok(stoppedAt > 0n && stoppedAt < firstHead, `stopped mid-stream (checkpoint ${stoppedAt}, head ${firstHead})`);
    const second = await relayProcess(env);
    await waitUntil('the relay to reach the head', async () => (await relayCheckpoint(db, topic)) === firstHead, 60_000);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());

    const stored = await storedEvents(db);
    const once = countById((await readTopic(quietKafka(), topic)).map((m) => m.event.eventId));
    assert.equal(once.size, stored.length, 'every event was produced');
    assert.deepEqual([...once.values()].filter((n) => n > 1), [], 'none twice across a clean restart');

    // Now a crash: whatever was acknowledged but not yet checkpointed is produced again.
    await recordHistories(db.store, 120, 120);
    const secondHead = (await storedEvents(db)).at(-1)!.position;
    const third = await relayProcess(env);
    await waitUntil('the relay to move past the first run', async () => (await relayCheckpoint(db, topic)) > firstHead, 30_000, 5);
    third.child.kill('SIGKILL');
    await third.exited;
    assert.ok((await relayCheckpoint(db, topic)) < secondHead, 'killed mid-stream');
    const fourth = await relayProcess(env);
    await waitUntil('the restarted relay to reach the head', async () => (await relayCheckpoint(db, topic)) === secondHead, 60_000);
    fourth.child.kill('SIGTERM');
    assert.equal(await fourth.exited, 0, fourth.output());

    const all = await storedEvents(db);
    const messages = await readTopic(quietKafka(), topic);
    const counts = countById(messages.map((m) => m.event.eventId));
    for (const event of all) assert.ok((counts.get(event.eventId) ?? 0) >= 1, `event at ${event.position} was produced`);
    const repeated = messages.filter((m) => (counts.get(m.event.eventId) ?? 0) > 1);
    assert.ok(repeated.every((m) => m.event.position > firstHead), 'repeats only from the crashed run, never before its checkpoint');
  });

  test('the broker killed and restarted mid-relay: no event lost, the repeats absorbed by a Kafka-mode projector', { skip, timeout: 150_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ledger-kafka-'));
    const broker: PrivateBroker = privateBroker({ port: await freePort(), controllerPort: await freePort() }, stateDir);
    cleanups.push(() => broker.stop());
    await broker.start();
    const { db, url } = await openSchema();
    const topic = uniqueName('ledger-test-outage');
    const env = {
      DATABASE_URL: url,
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('ledger-test-outage'),
      KAFKA_RELAY_BATCH_SIZE: '20',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LEDGER_PROJECTOR_POLL_MS: '50',
    };
    await recordHistories(db.store, 80, 0);
    const relay = await relayProcess(env);
    await waitUntil('a first checkpoint', async () => (await relayCheckpoint(db, topic)) > 0n, 30_000, 5);

    const appending = recordHistories(db.store, 120, 80);
    await broker.kill('SIGKILL');
    const duringOutage = await relayCheckpoint(db, topic);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await relayCheckpoint(db, topic), duringOutage, 'no checkpoint moves while the broker is down');
    await broker.start();
    await appending;
    const head = (await storedEvents(db)).at(-1)!.position;
    assert.ok(duringOutage < head, 'the broker went down mid-relay');
    await waitUntil('the relay to reach the head after the outage', async () => (await relayCheckpoint(db, topic)) === head, 90_000, 200);

    const counts = countById((await readTopic(quietKafka(broker.brokers), topic)).map((m) => m.event.eventId));
    const all = await storedEvents(db);
    assert.deepEqual(all.filter((e) => !counts.has(e.eventId)).map((e) => e.position), [], 'no event lost');

    const projector = await startLedgerProcess(['projections', 'run'], { ...env, PROJECTOR_SOURCE: 'kafka' });
    processes.push(projector);
    const expected = await Promise.all(READ_MODEL_NAMES.map((name) => referenceRows(db, name)));
    await waitUntil(
      'the Kafka-mode projector to equal one store-polling pass',
      async () => JSON.stringify(await Promise.all(READ_MODEL_NAMES.map((name) => tableRows(db, `read_${name}`)))) === JSON.stringify(expected),
      60_000,
      250,
    );
    for (const p of [relay, projector]) p.child.kill('SIGTERM');
    for (const p of [relay, projector]) assert.equal(await p.exited, 0, p.output());
  });
});
