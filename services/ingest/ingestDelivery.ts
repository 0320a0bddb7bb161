import type { FastifyRequest } from 'fastify';
import { CustomerNotFoundError, handleCommand, type CommandDeps } from '../commands/handleCommand.ts';
import type { InboxRecord } from '../eventstore/port.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { inDeliverySpan, inFactSpan, inVerifySpan, markDeliveryOutcome, recordDeliveryOutcome } from '../telemetry/ingestTelemetry.ts';
import { requestTraceparent } from '../telemetry/httpSpans.ts';
import { traceparentOf } from '../telemetry/tracer.ts';
import { recordDelivery, safeHeaders, type InboxOutcome } from './inbox.ts';
import { refuseReusedEventId } from './reusedEventId.ts';
import { claimKey, waitingClaimsOf } from './waitingClaims.ts';
import type { WebhookSource } from './webhookSource.ts';

export interface IngestDeps extends CommandDeps {
  sql: SqlExecutor;
}

export interface FactOutcome {
  sourceEventId: string;
  outcome: 'appended' | 'duplicate' | 'unmatched';
  customerId?: string;
  eventIds?: string[];
  // The delivery's inbox row, when it was kept with this fact's append.
  inboxId?: string;
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
    const record: InboxRecord = {
      source: source.name,
      verified: true,
      headers: safeHeaders(request.headers),
      body: rawBody.toString('utf8'),
      correlationId: request.id,
      sourceEventIds: [...translation.facts.map((f) => f.sourceEventId), ...translation.ignored.map((i) => i.sourceEventId)],
      ...(translation.ignored.length > 0 ? { detail: { ignored: translation.ignored } } : {}),
    };
    const processed = await processTranslation(
      deps,
      source.name,
      translation.facts,
      {
        correlationId: request.id,
        // The delivery span's context; without tracing, the request's (inbound or fresh).
        traceparent: traceparentOf(span) ?? requestTraceparent(request),
      },
      // A delivery of one fact (most are) is kept with that fact's append: one commit. The
      // outcome the store gives it (appended, duplicate) is the one overallOutcome gives.
      translation.facts.length === 1 ? record : undefined,
    );
    await refuseReusedEventId(deps, source.name, translation.facts, processed);
    const outcome = overallOutcome(processed);
    // Its unmatched facts' claims, even in a batch whose other facts were appended: the service
    // tries it again until they match (the appended ones are then duplicates).
    const waitingFor = [
      ...new Set(translation.facts.flatMap((item, i) => (processed[i]?.outcome === 'unmatched' ? item.identities.map(claimKey) : []))),
    ];
    const inboxId =
      (processed.length === 1 ? processed[0]!.inboxId : undefined) ??
      (await recordDelivery(deps.sql, { ...record, outcome, ...(waitingFor.length > 0 ? { waitingFor } : {}) }));
    // Kept: now it can be woken (services/ingest/waitingClaims.ts).
    waitingClaimsOf(deps.store).waiting(waitingFor);
    recordDeliveryOutcome(span, outcome, processed.length);
    markDeliveryOutcome(request, outcome);
    // A fact's inbox row is the delivery's, named once at the top of the receipt.
    const facts = processed.map(({ inboxId: _kept, ...fact }) => fact);
    return { received: true, correlationId: request.id, inboxId, facts, ignored: translation.ignored };
  });
}

export async function processTranslation(
  deps: CommandDeps,
  source: WebhookSource<unknown>['name'],
  facts: Awaited<ReturnType<WebhookSource<unknown>['translate']>>['facts'],
  trace: { correlationId: string; traceparent: string },
  inbox?: InboxRecord,
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
            metadata: {
              source,
              sourceEventId: item.sourceEventId,
              ...(item.sourceType ? { sourceType: item.sourceType } : {}),
              correlationId: trace.correlationId,
              traceparent,
            },
            ...(inbox ? { inbox } : {}),
          });
          // Durable: a delivery kept unmatched until this fact's customer was known may go on.
          if (!result.duplicate) waitingClaimsOf(deps.store).arrived(item.identities);
          return {
            sourceEventId: item.sourceEventId,
            outcome: result.duplicate ? 'duplicate' : 'appended',
            customerId: result.customerId,
            eventIds: result.eventIds,
            ...(result.inboxId !== undefined ? { inboxId: result.inboxId } : {}),
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

function overallOutcome(facts: FactOutcome[]): InboxOutcome {
  if (facts.some((f) => f.outcome === 'appended')) return 'appended';
  if (facts.some((f) => f.outcome === 'unmatched')) return 'unmatched';
  // Only a delivery whose facts were all recorded before is a duplicate: an empty HubSpot batch
  // said nothing, and counted as a re-delivery it skewed the duplicate rate.
  return facts.length > 0 ? 'duplicate' : 'ignored';
}
