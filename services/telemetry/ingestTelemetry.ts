import { SpanKind, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { problemFor } from '../http/errorHandler.ts';
import type { InboxOutcome } from '../ingest/inbox.ts';
import { requestContext } from './httpSpans.ts';
import { instruments } from './instruments.ts';
import {
  ATTR_CUSTOMER_ID,
  ATTR_DELIVERY_OUTCOME,
  ATTR_EVENT_TYPE,
  ATTR_FACT_OUTCOME,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_WEBHOOK_SOURCE,
} from './semconv.ts';
import { contextOfSpan, contextOfTraceparent, inSpan, inSpanSync, traceparentOf } from './tracer.ts';

// Spans and counters of one webhook delivery: the delivery (a message processed, in messaging
// terms), its signature check, and each fact it carries (whose span context is what the
// events store as their traceparent, so the projectors' spans join the same trace).

const messaging = (source: string): Record<string, string> => ({
  [ATTR_MESSAGING_SYSTEM]: source,
  [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
  [ATTR_MESSAGING_OPERATION_NAME]: 'ingest',
  [ATTR_MESSAGING_DESTINATION_NAME]: `webhooks/${source}`,
  [ATTR_WEBHOOK_SOURCE]: source,
});

export function inDeliverySpan<T>(request: FastifyRequest, source: string, work: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(
    `ingest webhooks/${source}`,
    { kind: SpanKind.CONSUMER, correlationId: request.id, attributes: messaging(source) },
    work,
    requestContext(request),
  );
}

export function inVerifySpan<T>(delivery: Span, source: string, correlationId: string, verify: () => T): T {
  return inSpanSync(`verify ${source} signature`, { correlationId, attributes: { [ATTR_WEBHOOK_SOURCE]: source } }, verify, contextOfSpan(delivery));
}

export function recordDeliveryOutcome(span: Span, outcome: InboxOutcome, facts: number): void {
  span.setAttribute(ATTR_DELIVERY_OUTCOME, outcome);
  span.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, facts);
}

export interface FactSpanInput {
  source: string;
  sourceEventId: string;
  factType: string;
  correlationId: string;
}

// A child of `traceparent` (the delivery's span, or what a redelivery or the app API passes).
// `work` receives the traceparent the fact's events store: this span's, or `traceparent` itself
// when tracing is off and the span has no context of its own.
export function inFactSpan<T extends { outcome: string; customerId?: string }>(
  input: FactSpanInput,
  traceparent: string,
  work: (traceparent: string) => Promise<T>,
): Promise<T> {
  return inSpan(
    `process ${input.factType}`,
    {
      kind: SpanKind.INTERNAL,
      correlationId: input.correlationId,
      attributes: { [ATTR_MESSAGING_MESSAGE_ID]: input.sourceEventId, [ATTR_EVENT_TYPE]: input.factType },
    },
    async (span) => {
      const result = await work(traceparentOf(span) ?? traceparent);
      span.setAttribute(ATTR_FACT_OUTCOME, result.outcome);
      if (result.customerId) span.setAttribute(ATTR_CUSTOMER_ID, result.customerId);
      return result;
    },
    contextOfTraceparent(traceparent),
  );
}

const outcomes = new WeakMap<FastifyRequest, InboxOutcome>();
const errorCodes = new WeakMap<FastifyRequest, string>();

export function markDeliveryOutcome(request: FastifyRequest, outcome: InboxOutcome): void {
  outcomes.set(request, outcome);
}

// Counts every delivery a webhook scope answers, including those refused before the handler
// (rate limit, body too large, wrong media type): 4xx as `rejected`, 5xx as `failed`, each
// with its LEDGER_* code, so the failure ratio sees what the provider saw.
export function countDeliveries(scope: FastifyInstance, source: string): void {
  scope.addHook('onError', async (request, _reply, error) => {
    errorCodes.set(request, problemFor(error, request).code);
  });
  scope.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const code = errorCodes.get(request) ?? `HTTP_${status}`;
    const attributes =
      status < 400
        ? { source, outcome: outcomes.get(request) ?? 'appended' }
        : { source, outcome: status < 500 ? 'rejected' : 'failed', code };
    instruments().webhookDeliveries.add(1, attributes);
  });
}
