import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { KAFKA_HEADERS } from '../../contracts/kafkaEnvelope.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { KafkaInbound, type InboundOutcome } from '../../services/ingest/kafkaInbound.ts';
import { ensureTopic } from '../../services/relay/kafkaConnection.ts';
import { dropSchemaOf, openPostgres } from '../support/databases.ts';
import { deleteTopic, kafkaSkip, quietKafka, uniqueName, waitUntil } from '../support/kafkaBroker.ts';

describe('the inbound topic: app events published by internal producers', async () => {
  const skip = await kafkaSkip();
  const topic = uniqueName('ledger-test-inbound');
  let db: LedgerDatabase | undefined;

  after(async () => {
    if (skip) return;
    await deleteTopic(quietKafka(), topic);
    if (db) {
      await dropSchemaOf(db);
      await db.close();
    }
  });

  test('pass the HTTP contract, de-duplication and lifecycle rules; a malformed message is rejected, not retried', { skip, timeout: 60_000 }, async () => {
    db = await openPostgres(4);
    const kafka = quietKafka();
    await ensureTopic(kafka, topic);
    const producer = kafka.producer();
    await producer.connect();
    const lead = { kind: 'lead', producer: 'signup-service', id: 'msg-1', lead: { email: 'Ada@Example.com', appUserId: 'user_ada', firstName: 'Ada' } };
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await producer.send({
      topic,
      messages: [
        { key: 'user_ada', value: JSON.stringify(lead), headers: { [KAFKA_HEADERS.correlationId]: 'corr-inbound-1', [KAFKA_HEADERS.traceparent]: traceparent } },
        // Published twice (a producer retry): recorded once.
        { key: 'user_ada', value: JSON.stringify(lead) },
        { key: 'user_ada', value: JSON.stringify({ kind: 'app_event', producer: 'signup-service', id: 'msg-2', event: { type: 'profile_updated', appUserId: 'user_ada', profile: { lastName: 'Lovelace' } } }) },
        { key: 'user_bob', value: JSON.stringify({ kind: 'lead', producer: 'signup-service', id: 'msg-3', lead: { firstName: 'Bob' } }) },
        { key: 'nobody', value: JSON.stringify({ kind: 'app_event', producer: 'signup-service', id: 'msg-4', event: { type: 'account_deleted', appUserId: 'user_never_seen' } }) },
        { key: 'junk', value: 'not json' },
      ],
    });
    await producer.disconnect();

    const outcomes: InboundOutcome[] = [];
    const inbound = new KafkaInbound(db, kafka, { topic, groupId: uniqueName('ledger-test-inbound'), logger: { info: () => {}, warn: () => {} } }, (outcome) =>
      outcomes.push(outcome),
    );
    await inbound.start();
    try {
      await waitUntil('all six messages to be handled', async () => outcomes.length >= 6, 30_000);
    } finally {
      await inbound.stop();
    }
    // Keys spread over partitions, so only one key's messages keep their order among themselves.
    assert.deepEqual(outcomes.toSorted(), ['appended', 'appended', 'duplicate', 'rejected', 'rejected', 'unmatched']);

    const customerId = await db.store.resolveIdentity('app', 'user_ada');
    assert.ok(customerId, 'the app user id resolves to a customer, as over HTTP');
    assert.equal(await db.store.resolveIdentity('email', 'ada@example.com'), customerId, 'the e-mail is normalised and linked');
    const events = await db.store.readStream(`customer-${customerId}`);
    const facts = events.filter((e) => e.type === 'LeadCaptured' || e.type === 'CustomerProfileUpdated');
    assert.deepEqual(facts.map((e) => e.type), ['LeadCaptured', 'CustomerProfileUpdated']);
    assert.equal(facts[0]!.metadata.source, 'kafka');
    assert.equal(facts[0]!.metadata.sourceEventId, 'signup-service:msg-1');
    assert.equal(facts[0]!.metadata.correlationId, 'corr-inbound-1');
    assert.equal(facts[0]!.metadata.traceparent, traceparent);
  });
});
