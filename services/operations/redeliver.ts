import {
  MAX_REDELIVERIES,
  REDELIVERABLE_SOURCES,
  type DeliveryRedelivered,
  type RedeliverableSource,
  type RedeliveryReport,
  type RedeliveryRequest,
} from '../../contracts/api/redelivery.ts';
import { parseDomainEvent } from '../../contracts/domainEvents.ts';
import { LedgerError } from '../../domain/errors.ts';
import type { CommandDeps } from '../commands/handleCommand.ts';
import type { LedgerConfig } from '../config.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { traceparentFor } from '../http/traceContext.ts';
import { createHubspotSource } from '../ingest/crm/hubspotSource.ts';
import { markMatched, readDeliveries, type StoredDelivery } from '../ingest/inbox.ts';
import { processTranslation } from '../ingest/ingestDelivery.ts';
import { createStripeSource } from '../ingest/stripe/stripeSource.ts';
import { createZendeskSource } from '../ingest/support/zendeskSource.ts';
import type { WebhookSource } from '../ingest/webhookSource.ts';
import { planRedelivery } from './redeliveryKeys.ts';

// `ledger redeliver`: the kept raw deliveries through TODAY's translators, after a mapper fix or
// once an unmatched fact's customer exists. Signatures are not checked again: only verified
// deliveries are kept, and the provider's timestamp would be long stale.

export type SourceRegistry = Readonly<Record<RedeliverableSource, WebhookSource<unknown>>>;

// The translators the service runs today. A parameter of `redeliver`, so a test can stand in a
// fixed mapper.
export function todaysSources(config: LedgerConfig): SourceRegistry {
  return {
    stripe: createStripeSource(config.webhooks.stripeSecrets),
    crm: createHubspotSource(config.webhooks.hubspotClientSecret),
    support: createZendeskSource(config.webhooks.zendeskSecret),
  };
}

// What the audit log names as the subject of a redelivery.
export const redeliveryTarget = (request: RedeliveryRequest): string =>
  request.inboxId !== undefined
    ? `inbox:${request.inboxId}`
    : `inbox:since:${request.since}${request.source ? `:${request.source}` : ''}${request.after ? `:after:${request.after}` : ''}`;

export interface RedeliverDeps extends CommandDeps {
  sql: SqlExecutor;
}

const isRedeliverable = (source: string): source is RedeliverableSource => (REDELIVERABLE_SOURCES as readonly string[]).includes(source);

export async function redeliver(
  deps: RedeliverDeps,
  sources: SourceRegistry,
  request: RedeliveryRequest,
  onProgress?: (done: number, total: number) => void,
): Promise<RedeliveryReport> {
  const limit = request.limit ?? MAX_REDELIVERIES;
  const stored = await readDeliveries(deps.sql, {
    ...(request.inboxId ? { id: request.inboxId } : {}),
    ...(request.since ? { since: request.since } : {}),
    ...(request.after ? { afterId: request.after } : {}),
    ...(request.source ? { source: request.source } : {}),
    limit: limit + 1,
  });
  if (request.inboxId && stored.length === 0) throw new LedgerError('LEDGER_NOT_FOUND', `No inbox delivery ${request.inboxId} (pruned, or never kept)`);
  const chosen = stored.slice(0, limit);
  const deliveries: DeliveryRedelivered[] = [];
  for (const delivery of chosen) {
    deliveries.push(await redeliverOne(deps, sources, delivery));
    onProgress?.(deliveries.length, chosen.length);
  }
  const count = (outcome: string) => deliveries.reduce((n, d) => n + d.facts.filter((f) => f.outcome === outcome).length, 0);
  return {
    deliveries,
    totals: {
      deliveries: deliveries.length,
      appended: count('appended'),
      duplicate: count('duplicate'),
      unmatched: count('unmatched'),
      ignored: deliveries.reduce((n, d) => n + d.ignored.length, 0),
      failed: deliveries.filter((d) => d.status === 'failed').length,
    },
    truncated: stored.length > limit,
    ...(stored.length > limit && chosen.length > 0 ? { next: chosen.at(-1)!.id } : {}),
  };
}

export async function redeliverOne(deps: RedeliverDeps, sources: SourceRegistry, delivery: StoredDelivery): Promise<DeliveryRedelivered> {
  const base = { inboxId: delivery.id, source: delivery.source, receivedAt: delivery.receivedAt, originalOutcome: delivery.outcome };
  if (!isRedeliverable(delivery.source)) {
    return { ...base, status: 'failed', facts: [], ignored: [], error: { code: 'LEDGER_VALIDATION', message: `no translator for source ${delivery.source}` } };
  }
  const source = sources[delivery.source];
  try {
    const translation = source.translate(source.parse(Buffer.from(delivery.body, 'utf8')));
    // The registry is a parameter: whatever translator it holds, a fact the read path could not
    // parse must never reach a stream (it would make the customer unreadable).
    for (const { fact } of translation.facts) parseDomainEvent(fact.type, fact.schemaVersion, fact.data);
    const steps = await planRedelivery(deps.store, source.name, translation);
    const fresh = steps.filter((s) => s.kind === 'new');
    // In the translation's order, as a live delivery would: a batch's facts about one customer
    // must keep their order.
    const outcomes = await processTranslation(
      deps,
      source.name,
      fresh.map((s) => ({ ...s.item, sourceEventId: s.key })),
      // The original correlation id: `ledger events` then shows the redelivered facts next to the
      // delivery they came from.
      { correlationId: delivery.correlationId, traceparent: traceparentFor(delivery.headers.traceparent) },
    );
    const facts = steps.map((step) => {
      if (step.kind === 'recorded') {
        return { sourceEventId: step.key, type: step.item.fact.type, outcome: 'duplicate' as const, customerId: step.customerId };
      }
      const outcome = outcomes[fresh.indexOf(step)];
      if (!outcome) throw new LedgerError('LEDGER_INTERNAL', 'processTranslation returned fewer outcomes than facts');
      return {
        sourceEventId: step.key,
        type: step.item.fact.type,
        outcome: outcome.outcome,
        ...(outcome.customerId ? { customerId: outcome.customerId } : {}),
      };
    });
    // A waiting delivery whose facts all found their customer now: matched, whoever ran it (the
    // service's retry, or a human after its window), so `ledger doctor` and `ledger trace` stop
    // reporting it as waiting.
    if (delivery.waiting && facts.every((fact) => fact.outcome !== 'unmatched')) await markMatched(deps.sql, delivery.id);
    return { ...base, status: 'processed', facts, ignored: translation.ignored };
  } catch (error) {
    // A delivery today's contract or rules refuse is reported and the run goes on; an outage is
    // not a verdict on the delivery, so it stops the run.
    if (!(error instanceof LedgerError) || error.code === 'LEDGER_STORE_UNAVAILABLE' || error.code === 'LEDGER_INTERNAL') throw error;
    return { ...base, status: 'failed', facts: [], ignored: [], error: { code: error.code, message: error.message } };
  }
}
