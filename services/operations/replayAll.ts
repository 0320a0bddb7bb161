import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { replayCustomer, type ReplayDifference, type ReplayOptions } from './replay.ts';

// Where a replay reads a stream: the store directly, or the admin API of the service holding it.
export interface ReplaySource {
  events(customerId: string): Promise<RecordedEvent[]>;
}

export interface ReplayReport {
  customers: number;
  checked: number;
  affectedCustomers: string[];
  differences: ReplayDifference[];
}

export interface ReplayProgress {
  customers: number;
  affected: number;
}

// One customer at a time: memory stays one stream deep however long the log is.
export async function replayCustomers(
  source: ReplaySource,
  customerIds: AsyncIterable<string> | Iterable<string>,
  options: ReplayOptions & { onProgress?: (progress: ReplayProgress) => void } = {},
): Promise<ReplayReport> {
  const report: ReplayReport = { customers: 0, checked: 0, affectedCustomers: [], differences: [] };
  for await (const customerId of customerIds) {
    const result = replayCustomer(customerId, await source.events(customerId), options);
    report.customers += 1;
    report.checked += result.checked;
    if (result.differences.length > 0) {
      report.affectedCustomers.push(customerId);
      report.differences.push(...result.differences);
    }
    options.onProgress?.({ customers: report.customers, affected: report.affectedCustomers.length });
  }
  return report;
}

// Walks a paged listing to the end.
export async function* paged(fetchPage: (after: string | undefined) => Promise<{ customerIds: string[]; next: string | null }>): AsyncGenerator<string> {
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    yield* page.customerIds;
    if (page.next === null) return;
    after = page.next;
  }
}
