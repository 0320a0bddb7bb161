import type { FastifyRequest } from 'fastify';
import { CustomerNotFoundError, handleCommand, type CommandDeps } from '../commands/handleCommand.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { inDeliverySpan, inFactSpan, inVerifySpan, markDeliveryOutcome, recordDeliveryOutcome } from '../telemetry/ingestTelemetry.ts';
import { requestTraceparent } from '../telemetry/httpSpans.ts';
import { traceparentOf } from '../telemetry/tracer.ts';
import { recordDelivery, safeHeaders, type InboxOutcome } from './inbox.ts';
import type { WebhookSource } from './webhookSource.ts';

export interface IngestDeps extends CommandDeps {
  sql: SqlExecutor;
}

export interface FactOutcome {
  sourceEventId: string;
  outcome: 'appended' | 'duplicate' | 'unmatched';
  customerId?: string;
  eventIds?: string[];
}

export interface DeliveryResult {
  received: true;
  correlationId: string;
  inboxId: string;
  facts: FactOutcome[];
  ignored: { sourceEventId: string; reason: string }[];
}

// verify the raw bytes -> parse with the contract -> translate (pure) -> handle each fact
// (load, decide, append; durable before we answer) -> keep the delivery in the inbox.
export async function ingestDelivery<P>(deps: IngestDeps, source: WebhookSource<P>, request: FastifyRequest): Promise<DeliveryResult> {
  return inDeliverySpan(request, source.name, async (span) => {
    const rawBody = request.body as Buffer;
    inVerifySpan(span, source.name, request.id, () =>
      source.verify({ rawBody, headers: request.headers, method: request.method, url: request.url, now: deps.now() }),
    );
    const translation = source.translate(source.parse(rawBody));
    const processed = await processTranslation(deps, source.name, translation.facts, {
      correlationId: request.id,
      // The delivery span's context; without tracing, the request's (inbound or fresh).
      traceparent: traceparentOf(span) ?? requestTraceparent(request),
    });
    const outcome = overallOutcome(processed, translation.ignored.length);
    const inboxId = await recordDelivery(deps.sql, {
      source: source.name,
      verified: true,
      headers: safeHeaders(request.headers),
      body: rawBody.toString('utf8'),
      outcome,
      correlationId: request.id,
      sourceEventIds: [...processed.map((f) => f.sourceEventId), ...translation.ignored.map((i) => i.sourceEventId)],
      ...(translation.ignored.length > 0 ? { detail: { ignored: translation.ignored } } : {}),
    });
    recordDeliveryOutcome(span, outcome, processed.length);
    markDeliveryOutcome(request, outcome);
    return { received: true, correlationId: request.id, inboxId, facts: processed, ignored: translation.ignored };
  });
}

export async function processTranslation(
  deps: CommandDeps,
  source: WebhookSource<unknown>['name'],
  facts: Awaited<ReturnType<WebhookSource<unknown>['translate']>>['facts'],
  trace: { correlationId: string; traceparent: string },
): Promise<FactOutcome[]> {
  const outcomes: FactOutcome[] = [];
  // In order: a batch's facts about one customer must keep their order.
  for (const item of facts) {
    const span = { source, sourceEventId: item.sourceEventId, factType: item.fact.type, correlationId: trace.correlationId };
    // A span per fact, child of the caller's traceparent; the events store the fact span's
    // context, so the projectors' spans join its trace.
    outcomes.push(
      await inFactSpan(span, trace.traceparent, async (traceparent): Promise<FactOutcome> => {
        try {
          const result = await handleCommand(deps, {
            command: { type: 'RecordFact', fact: item.fact },
            identities: item.identities,
            createIfMissing: item.createIfMissing,
            idempotencyKey: { source, sourceEventId: item.sourceEventId },
            metadata: { source, sourceEventId: item.sourceEventId, correlationId: trace.correlationId, traceparent },
          });
          return {
            sourceEventId: item.sourceEventId,
            outcome: result.duplicate ? 'duplicate' : 'appended',
            customerId: result.customerId,
            eventIds: result.eventIds,
          };
        } catch (error) {
          // A fact about nobody we know (a refund for an unknown charge) is kept in the inbox for
          // `ledger redeliver`, acknowledged so the provider does not retry it for days.
          if (!(error instanceof CustomerNotFoundError)) throw error;
          return { sourceEventId: item.sourceEventId, outcome: 'unmatched' };
        }
      }),
    );
  }
  return outcomes;
}

function overallOutcome(facts: FactOutcome[], ignored: number): InboxOutcome {
  if (facts.some((f) => f.outcome === 'appended')) return 'appended';
  if (facts.some((f) => f.outcome === 'unmatched')) return 'unmatched';
  if (facts.length > 0) return 'duplicate';
  return ignored > 0 ? 'ignored' : 'duplicate';
}
