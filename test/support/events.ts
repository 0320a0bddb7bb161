import type { NewEvent } from '../../contracts/eventMetadata.ts';

let counter = 0;

// A minimal valid event for store tests; the store does not interpret types or data.
export function anEvent(customerId: string, type = 'TestFactRecorded', data: Record<string, unknown> = {}): NewEvent {
  counter += 1;
  return {
    type,
    schemaVersion: 1,
    data: { n: counter, ...data },
    metadata: {
      customerId,
      occurredAt: '2026-01-01T00:00:00.000Z',
      source: 'app',
      correlationId: `corr-${counter}`,
    },
  };
}

export const streamOf = (customerId: string) => `customer-${customerId}`;
