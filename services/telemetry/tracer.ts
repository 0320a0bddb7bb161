import { context, isSpanContextValid, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type SpanOptions } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { LedgerError } from '../../domain/errors.ts';
import { ATTR_CORRELATION_ID, ATTR_ERROR_CODE, SERVICE_NAME } from './semconv.ts';

// A proxy tracer: it follows whatever provider is registered, before or after this module loads.
export const tracer = trace.getTracer(SERVICE_NAME);

export const formatTraceparent = (span: SpanContext): string =>
  `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;

// The active span's context as a W3C traceparent, when there is a valid one.
export function activeTraceparent(ctx: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && isSpanContextValid(spanContext) ? formatTraceparent(spanContext) : undefined;
}

// Marks a span failed with the error's stable code, never its message: messages may quote data.
export function recordFailure(span: Span, error: unknown): void {
  const code = error instanceof LedgerError ? error.code : undefined;
  span.setAttribute(ATTR_ERROR_TYPE, code ?? (error instanceof Error ? error.name : 'unknown'));
  if (code) span.setAttribute(ATTR_ERROR_CODE, code);
  // A client's mistake (4xx) is not this service failing.
  if (!(error instanceof LedgerError) || error.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

// Runs `work` inside a new child span of `parent`, active for everything `work` awaits.
export async function inSpan<T>(
  name: string,
  options: SpanOptions & { correlationId: string },
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const { correlationId, attributes, ...rest } = options;
  const span = tracer.startSpan(name, { ...rest, attributes: { ...attributes, [ATTR_CORRELATION_ID]: correlationId } }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

// The synchronous twin, for checks such as a signature verification.
export function inSpanSync<T>(name: string, options: SpanOptions & { correlationId: string }, work: (span: Span) => T): T {
  const { correlationId, attributes, ...rest } = options;
  const span = tracer.startSpan(name, { ...rest, attributes: { ...attributes, [ATTR_CORRELATION_ID]: correlationId } });
  try {
    return work(span);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export type { Attributes };
