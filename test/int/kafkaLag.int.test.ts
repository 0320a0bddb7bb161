import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { DoctorEnv } from '../../contracts/doctorEnv.ts';
import { loadConfig, type LedgerConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { projectionChecks } from '../../services/operations/doctorStoreChecks.ts';
import { projectionsStatus } from '../../services/operations/projectionOperations.ts';
import { partitionOf } from '../../services/projector/kafkaLag.ts';
import { KafkaProjector } from '../../services/projector/kafkaSource.ts';
import type { ProjectionsReport } from '../../services/projector/projectionStatus.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { silentLogger } from '../../services/relay/kafkaConnection.ts';
import { Relay } from '../../services/relay/relay.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { dropSchemaOf, openPostgres, POSTGRES_URL, storedEvents, untilOlderTransactionsEnd, whileTablesLocked } from '../support/databases.ts';
import { deleteTopic, KAFKA_BROKERS, kafkaSkip, quietKafka, uniqueName, waitUntil } from '../support/kafkaBroker.ts';
import { TEST_ENV } from '../support/testApp.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// In Kafka mode the store's checkpoints never move; status must read the consumer group instead
// of reporting the whole log as lag (which fired lag alerts and failed `ledger doctor`).
describe('projection status in Kafka mode (PROJECTOR_SOURCE=kafka), a real broker', async () => {
  const skip = await kafkaSkip();
  let db: LedgerDatabase;
  let kafka: Kafka;
  let config: LedgerConfig;
  let relay: Relay;
  const topic = uniqueName('ledger-test-lag');
  const groupId = uniqueName('ledger-test-lag-group');

  before(async () => {
    if (skip) return;
    db = await openPostgres(8);
    kafka = quietKafka();
    config = loadConfig({ ...TEST_ENV, PROJECTOR_SOURCE: 'kafka', KAFKA_BROKERS, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId });
    relay = new Relay(db, kafka, { topic, batchSize: 500, pollIntervalMs: 50, logger: silentLogger });
  });
  after(async () => {
    if (skip) return;
    // Its producer's sockets would keep this file's process alive.
    await relay.stop();
    await deleteTopic(kafka, topic);
    await dropSchemaOf(db);
    await db.close();
  });

  const status = () => projectionsStatus(db.sql, config);
  const projector = () =>
    new KafkaProjector(db, [...createRunners(db, config).values()], kafka, { topic, groupId, sessionTimeoutMs: 6_000, logger: silentLogger });
  const catchUp = async () => {
    const running = projector();
    await running.start();
    await waitUntil('the consumer group to apply everything', async () => (await status()).projections.every((p) => p.lagEvents === 0), 60_000, 100);
    await running.stop();
  };
  const customerOf = async (from: bigint) => {
    const events = (await storedEvents(db)).filter((e) => e.position > from);
    return { customerId: events[0]!.metadata.customerId, events };
  };
  // Recorded and visible: another test file's open transaction would hold these events behind the
  // xmin fence, out of the relay's reach and out of its backlog (status says so), for a while.
  const record = async (customers: number, seed?: number) => {
    await recordHistories(db.store, customers, seed);
    assert.ok(await untilOlderTransactionsEnd(db.sql), 'older transactions ended');
  };
  const lagOf = (report: ProjectionsReport, partition: number) => report.kafka!.partitions.find((p) => p.partition === partition)!;

  test('before the relay: every event waits for it; after: in the partitions; applied: no lag at all', { skip, timeout: 120_000 }, async () => {
    await record(30);
    const events = await storedEvents(db);

    const unrelayed = await status();
    assert.equal(unrelayed.source, 'kafka');
    assert.equal(unrelayed.kafka?.relayBacklog, events.length);
    for (const p of unrelayed.projections) assert.equal(p.lagEvents, events.length);

    await relay.drain();
    const relayed = await status();
    assert.equal(relayed.kafka?.relayBacklog, 0);
    assert.equal(relayed.kafka?.relayPosition, events.at(-1)!.position.toString());
    assert.equal(relayed.kafka!.partitions.reduce((n, p) => n + p.lagMessages, 0), events.length, 'every message is waiting in its partition');
    for (const p of relayed.projections) {
      assert.equal(p.lagEvents, events.length);
      assert.equal(p.position, (events[0]!.position - 1n).toString(), 'nothing is applied yet');
      assert.ok(p.lagSeconds > 0);
    }

    await catchUp();
    const applied = await status();
    for (const p of applied.projections) {
      assert.deepEqual({ lagEvents: p.lagEvents, lagSeconds: p.lagSeconds, position: p.position }, { lagEvents: 0, lagSeconds: 0, position: p.headPosition }, p.name);
    }
    for (const p of applied.kafka!.partitions) assert.equal(p.appliedOffset, p.highOffset, `partition ${p.partition} applied to its end`);
  });

  test("a partition's lag in seconds is the age of its own oldest waiting event, not the time since it last moved", { skip, timeout: 120_000 }, async () => {
    const start = (await storedEvents(db)).at(-1)!.position;
    const partitions = (await status()).kafka!.partitions.length;
    assert.ok(partitions > 1, 'the broker gives the topic several partitions');
    const partition = partitionOf(partitions);

    // Customer A first; a second later customer B, in another partition that has been idle
    // since the first test. Nothing is applied (no projector runs).
    await record(1, 100);
    const a = await customerOf(start);
    await sleep(1_500);
    let b: Awaited<ReturnType<typeof customerOf>>;
    let n = 101;
    do {
      const before = (await storedEvents(db)).at(-1)!.position;
      await record(1, n++);
      b = await customerOf(before);
    } while (partition(b.customerId) === partition(a.customerId));
    await relay.drain();

    const report = await status();
    const waiting = (await storedEvents(db)).filter((e) => e.position > start);
    const lagA = lagOf(report, partition(a.customerId));
    const lagB = lagOf(report, partition(b.customerId));
    assert.ok(lagA.lagSeconds >= 1.4, `A's partition: its events are ${lagA.lagSeconds} s old`);
    // Compared with A's, not with a fixed bound: waiting out other files' transactions after B
    // was recorded ages B's events too.
    assert.ok(lagA.lagSeconds - lagB.lagSeconds >= 1.3, `B's partition: its oldest waiting event is B's own (${lagB.lagSeconds} s), not A's`);
    assert.ok(lagB.lagMessages >= b.events.filter((e) => e.metadata.customerId === b.customerId).length);
    for (const p of report.projections) {
      assert.equal(p.lagEvents, waiting.length, 'exactly the events appended since the group caught up');
      assert.equal(p.lagSeconds, lagA.lagSeconds, 'the oldest waiting event overall is A’s');
      assert.equal(p.position, (a.events[0]!.position - 1n).toString());
    }

    // One more customer not relayed yet: counted as the relay's backlog, not in a partition.
    await record(1, 500);
    const unrelayed = (await storedEvents(db)).filter((e) => e.position > waiting.at(-1)!.position);
    const withBacklog = await status();
    assert.equal(withBacklog.kafka?.relayBacklog, unrelayed.length);
    for (const p of withBacklog.projections) assert.equal(p.lagEvents, waiting.length + unrelayed.length);

    await relay.drain();
    await catchUp();
    for (const p of (await status()).projections) assert.equal(p.lagEvents, 0, p.name);
  });

  test('ledger doctor in Kafka mode judges the consumer group\'s lag (caught up: pass), and says so when the broker is away', { skip, timeout: 60_000 }, async () => {
    const env = { ...TEST_ENV, PROJECTOR_SOURCE: 'kafka', KAFKA_BROKERS, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId };
    const settings = DoctorEnv.parse({});
    const [lag] = await projectionChecks({ env, store: { kind: 'direct', db } }, settings, true);
    assert.equal(lag?.status, 'pass', lag?.detail);
    assert.match(lag?.detail ?? '', /crm 0\.0 s \/ 0 events/);

    const [away] = await projectionChecks({ env: { ...env, KAFKA_BROKERS: '127.0.0.1:1' }, store: { kind: 'direct', db } }, settings, true);
    assert.equal(away?.status, 'skip');
    assert.match(away?.detail ?? '', /Kafka did not answer/);
  });

  test('ledger doctor in Kafka mode blames a store that does not answer on the store, not on Kafka', { skip, timeout: 60_000 }, async () => {
    const env = { ...TEST_ENV, PROJECTOR_SOURCE: 'kafka', KAFKA_BROKERS, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId };
    const settings = DoctorEnv.parse({ LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS: '1' });
    const { rows } = await db.sql.query<{ schema: string }>('select current_schema() as schema');
    // Doctor's own store, bounded as the command opens it; another session holds the event log.
    const doctorDb = await openDatabase({ databaseUrl: POSTGRES_URL, schema: rows[0]!.schema, poolSize: 2, migrate: false, queryTimeoutMs: 1_000 });
    try {
      const checks = await whileTablesLocked(db, ['ledger_events'], () => projectionChecks({ env, store: { kind: 'direct', db: doctorDb } }, settings, true));
      for (const check of checks) {
        assert.equal(check.status, 'fail', check.name);
        assert.equal(check.detail, 'the store did not answer within 1 s (LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS)', check.name);
      }
    } finally {
      await doctorDb.close();
    }
  });

  test('an unreachable broker answers LEDGER_KAFKA_UNAVAILABLE, not a made-up lag', { skip, timeout: 60_000 }, async () => {
    const closed = loadConfig({ ...TEST_ENV, PROJECTOR_SOURCE: 'kafka', KAFKA_BROKERS: '127.0.0.1:1', KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId });
    await assert.rejects(projectionsStatus(db.sql, closed), (error: Error & { code?: string; status?: number }) => {
      assert.equal(error.code, 'LEDGER_KAFKA_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.doesNotMatch(error.message, /127\.0\.0\.1/, 'no broker address in a client-facing message');
      return true;
    });
  });
});
