import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { KAFKA_HEADERS } from '../../contracts/kafkaEnvelope.ts';
import { KafkaInboundMessage } from '../../contracts/inbound/kafkaInbound.ts';
import { parseJsonBody } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { CustomerNotFoundError, handleCommand } from '../commands/handleCommand.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { traceparentFor } from '../http/traceContext.ts';
import type { KafkaLogger } from '../relay/kafkaConnection.ts';
import { translateAppEvent, translateLead, type AppFact } from './app/appTranslator.ts';

export interface KafkaInboundSettings {
  topic: string;
  groupId: string;
  logger: KafkaLogger;
}

export type InboundOutcome = 'appended' | 'duplicate' | 'unmatched' | 'rejected';

// The optional inbound topic (off unless KAFKA_INBOUND_TOPIC is set; `ledger relay` runs it):
// internal producers publish app events, which take the HTTP path's steps: the contract
// (contracts/inbound/app.ts), the same pure translator, handleCommand (identity resolution,
// lifecycle rules, append), and de-duplication on (kafka, producer:id). Offsets are committed
// after the append, so a crash redelivers and the de-duplication absorbs the repeat.
export class KafkaInbound {
  private consumer: Consumer | undefined;

  constructor(
    private readonly db: LedgerDatabase,
    private readonly kafka: Kafka,
    private readonly settings: KafkaInboundSettings,
    private readonly onOutcome?: (outcome: InboundOutcome, message: { partition: number; offset: string }) => void,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.settings.groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.settings.topic], fromBeginning: true });
    await consumer.run({ eachMessage: (payload) => this.ingest(payload) });
    this.consumer = consumer;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async ingest({ partition, message }: EachMessagePayload): Promise<void> {
    const at = { partition, offset: message.offset };
    let parsed: KafkaInboundMessage;
    try {
      parsed = parseJsonBody(KafkaInboundMessage, message.value ?? '');
    } catch (error) {
      // A producer's bug: retrying cannot fix it, and it must not block the partition.
      const code = error instanceof LedgerError ? error.code : 'unknown';
      this.settings.logger.warn({ ...at, code, detail: error instanceof Error ? error.message : '' }, 'inbound message rejected by its contract');
      this.onOutcome?.('rejected', at);
      return;
    }
    // The producer's time stands in for the app's, as the server's clock does over HTTP; it is
    // the same on every redelivery.
    const sentAt = new Date(Number(message.timestamp));
    const translated: AppFact = parsed.kind === 'lead' ? translateLead(parsed.lead, sentAt) : translateAppEvent(parsed.event, sentAt);
    const sourceEventId = `${parsed.producer}:${parsed.id}`;
    const header = (name: string) => message.headers?.[name]?.toString();
    try {
      const result = await handleCommand(
        { store: this.db.store, now: () => new Date() },
        {
          command: { type: 'RecordFact', fact: translated.fact },
          identities: translated.identities,
          createIfMissing: translated.createIfMissing,
          idempotencyKey: { source: 'kafka', sourceEventId },
          metadata: {
            source: 'kafka',
            sourceEventId,
            correlationId: header(KAFKA_HEADERS.correlationId) ?? `kafka:${this.settings.topic}:${partition}:${message.offset}`,
            traceparent: traceparentFor(header(KAFKA_HEADERS.traceparent)),
          },
        },
      );
      this.onOutcome?.(result.duplicate ? 'duplicate' : 'appended', at);
    } catch (error) {
      // Deleting an app user the ledger never knew records nothing (HTTP answers 404).
      if (error instanceof CustomerNotFoundError) {
        this.onOutcome?.('unmatched', at);
        return;
      }
      // What HTTP answers with a 4xx cannot succeed on a retry either; a 5xx (store down) is
      // thrown, so the consumer retries the message instead of committing past it.
      if (!(error instanceof LedgerError) || error.status >= 500) throw error;
      this.settings.logger.warn({ ...at, code: error.code }, 'inbound message refused by the ledger');
      this.onOutcome?.('rejected', at);
    }
  }
}
