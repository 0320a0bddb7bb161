import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Kafka } from 'kafkajs';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { KAFKA_HEADERS } from '../../contracts/kafkaEnvelope.ts';
import { loadConfig } from '../../services/config.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { KafkaProjector } from '../../services/projector/kafkaSource.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { ensureTopic } from '../../services/relay/kafkaConnection.ts';
import { Relay } from '../../services/relay/relay.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { dropSchemaOf, openPostgres, storedEvents, untilOlderTransactionsEnd } from '../support/databases.ts';
import { deleteTopic, kafkaSkip, quietKafka, readTopic, relayCheckpoint, uniqueName, waitUntil } from '../support/kafkaBroker.ts';
import { TEST_ENV } from '../support/testApp.ts';

const silent = { info: () => {}, warn: () => {} };
const traceparentOf = (n: number) => `00-${n.toString(16).padStart(32, 'a')}-${n.toString(16).padStart(16, 'b')}-01`;

describe('relay to a real Kafka broker', async () => {
  const skip = await kafkaSkip();
  let db: LedgerDatabase;
  let kafka: Kafka;
  const topics: string[] = [];

  before(async () => {
    if (skip) return;
    db = await openPostgres(8);
    kafka = quietKafka();
    await recordHistories(db.store, 60);
    // Deliveries carrying a trace: one per customer, as a webhook's traceparent would be stored.
    for (let n = 0; n < 12; n += 1) {
      await handleCommand(
        { store: db.store, now: () => new Date('2026-01-03T00:00:00Z') },
        {
          command: { type: 'RecordFact', fact: domainEvent('TicketOpened', { occurredAt: '2026-01-03T00:00:00Z', ticketId: `tt${n}`, subject: 'Help', status: 'open', tags: [] }) },
          identities: [{ kind: 'app', externalId: `user_h${n}` }],
          createIfMissing: false,
          idempotencyKey: { source: 'support', sourceEventId: `traced-${n}` },
          metadata: { source: 'support', sourceEventId: `traced-${n}`, correlationId: `corr-traced-${n}`, traceparent: traceparentOf(n + 1) },
        },
      );
    }
    // Another test file's open transaction would hold the newest events behind the xmin fence,
    // out of the relay's reach, while the tests compare what it produced with what is stored.
    assert.ok(await untilOlderTransactionsEnd(db.sql), 'older transactions ended');
  });
  after(async () => {
    if (skip) return;
    for (const topic of topics) await deleteTopic(kafka, topic);
    await dropSchemaOf(db);
    await db.close();
  });

  const newTopic = () => {
    const topic = uniqueName('ledger-test-relay');
    topics.push(topic);
    return topic;
  };

  test('every event reaches the topic once, keyed by customer, in per-customer order over 6 partitions, with its headers', { skip, timeout: 60_000 }, async () => {
    const topic = newTopic();
    const relay = new Relay(db, kafka, { topic, batchSize: 100, pollIntervalMs: 50, logger: silent });
    const produced = await relay.drain();
    await relay.stop();
    const stored = await storedEvents(db);
    assert.equal(produced, stored.length);
    assert.equal(await relayCheckpoint(db, topic), stored.at(-1)!.position);

    const messages = await readTopic(kafka, topic);
    assert.deepEqual(
      messages.map((m) => m.event).sort((a, b) => Number(a.position - b.position)),
      stored,
      'the envelope carries the recorded event unchanged, each exactly once',
    );
    const partitionOf = new Map<string, number>();
    const lastPosition = new Map<string, bigint>();
    for (const { key, partition, headers, event } of messages) {
      assert.equal(key, event.metadata.customerId);
      assert.equal(partitionOf.get(key) ?? partition, partition, `customer ${key} stays in one partition`);
      partitionOf.set(key, partition);
      assert.ok(event.position > (lastPosition.get(key) ?? 0n), `customer ${key}'s events are in position order`);
      lastPosition.set(key, event.position);
      assert.equal(headers[KAFKA_HEADERS.eventId], event.eventId);
      assert.equal(headers[KAFKA_HEADERS.type], event.type);
      assert.equal(headers[KAFKA_HEADERS.schemaVersion], String(event.schemaVersion));
      assert.equal(headers[KAFKA_HEADERS.correlationId], event.metadata.correlationId);
      assert.equal(headers[KAFKA_HEADERS.traceparent], event.metadata.traceparent);
    }
    assert.equal(new Set(partitionOf.values()).size, 6, 'customers spread over all 6 partitions');
    assert.ok(messages.some((m) => m.headers[KAFKA_HEADERS.traceparent] === traceparentOf(1) && m.headers[KAFKA_HEADERS.correlationId] === 'corr-traced-0'));
  });

  test('the checkpoint does not move until the broker acknowledges', { skip, timeout: 60_000 }, async () => {
    const topic = newTopic();
    // The topic does not exist yet (brokers here do not auto-create), so no send is acknowledged.
    const relay = new Relay(db, kafka, { topic, batchSize: 100, pollIntervalMs: 50, logger: silent, sendRetry: { retries: 2, maxRetryTime: 300 } });
    await assert.rejects(relay.relayBatch());
    assert.equal(await relayCheckpoint(db, topic), 0n, 'nothing checkpointed without an acknowledgement');
    await relay.stop();

    await ensureTopic(kafka, topic);
    const retry = new Relay(db, kafka, { topic, batchSize: 100, pollIntervalMs: 50, logger: silent });
    const first = await retry.relayBatch();
    await retry.stop();
    assert.equal(first.produced, 100);
    assert.equal(await relayCheckpoint(db, topic), first.position);
    assert.equal((await readTopic(kafka, topic)).length, 100, 'the failed attempt left nothing behind to duplicate');
  });

  test("a Kafka-mode projector's span joins the trace of the delivery that recorded the event", { skip, timeout: 60_000 }, async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    const topic = newTopic();
    const relay = new Relay(db, kafka, { topic, batchSize: 1_000, pollIntervalMs: 50, logger: silent });
    await relay.drain();
    await relay.stop();
    const runners = [...createRunners(db, loadConfig(TEST_ENV)).values()];
    const projector = new KafkaProjector(db, runners, kafka, { topic, groupId: uniqueName('ledger-test-trace'), sessionTimeoutMs: 6_000, logger: silent });
    let applied = 0;
    projector.onCommitted((_name, result) => (applied += result.applied));
    const head = (await storedEvents(db)).length;
    await projector.start();
    try {
      await waitUntil('the projector to apply every event', async () => applied >= head * 3, 30_000);
    } finally {
      await projector.stop();
      trace.disable();
    }
    const spans = exporter.getFinishedSpans().filter((s) => s.name === `process ${topic}`);
    assert.ok(spans.length > 0, 'one span per batch');
    for (let n = 1; n <= 12; n += 1) {
      const traceId = traceparentOf(n).split('-')[1];
      assert.ok(
        spans.some((s) => s.spanContext().traceId === traceId || s.links.some((l) => l.context.traceId === traceId)),
        `a projector span is in, or links to, trace ${n}`,
      );
    }
  });
});
