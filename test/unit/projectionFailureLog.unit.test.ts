import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { ProjectionFailure } from '../../services/projector/projectionErrors.ts';
import { createLogger } from '../../services/telemetry/logger.ts';

// The service logs a failed projection batch with its error, on every retry: the event it names
// must not bring the customer's data with it (README: payloads are never logged).
test('a projection failure in the service log names the event, never its data', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const event: RecordedEvent = {
    eventId: '0193aaaa-0000-7000-8000-000000000001',
    streamId: 'customer-cust_1',
    version: 2,
    position: 4097n,
    recordedAt: '2026-01-01T00:00:00.000Z',
    type: 'LeadCaptured',
    schemaVersion: 1,
    data: { occurredAt: '2026-01-01T00:00:00Z', email: 'ann.private@example.com', phone: '+15550100' },
    metadata: { customerId: 'cust_1', occurredAt: '2026-01-01T00:00:00Z', source: 'app', correlationId: 'corr-1' },
  };
  const logger = createLogger({ level: 'warn', destination });
  logger.warn({ err: new ProjectionFailure(event, 1, new Error('cannot project')), eventId: event.eventId }, 'projection batch failed; backing off');
  const line = lines.join('');
  assert.match(line, /projection failed on event 0193aaaa-0000-7000-8000-000000000001: cannot project/);
  assert.doesNotMatch(line, /ann\.private|\+15550100/);
});
