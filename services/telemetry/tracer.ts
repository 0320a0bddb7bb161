import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { LedgerError } from '../../domain/errors.ts';
import { parseTraceparent } from '../http/traceContext.ts';
import { ATTR_CORRELATION_ID, ATTR_ERROR_CODE, SERVICE_NAME } from './semconv.ts';

// A proxy tracer: it follows whatever provider is registered, before or after this module loads.
//
// Parents are always passed explicitly (a request's span, an event's stored traceparent), never
// read from an "active" context: no AsyncLocalStorage context manager is registered, because on
// Node 20 it installs promise hooks that tax every promise in the process (measured: +15 % CPU
// per delivery), and the ledger always knows which span it is working under.
export const tracer = trace.getTracer(SERVICE_NAME);

export const formatTraceparent = (span: SpanContext): string =>
  `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;

// The span's context as a W3C traceparent, when it has a valid one (a non-recording span without
// a parent has none).
export function traceparentOf(span: Span): string | undefined {
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? formatTraceparent(spanContext) : undefined;
}

export function remoteSpanContext(traceparent: string | undefined): SpanContext | undefined {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return undefined;
  return { traceId: parsed.traceId, spanId: parsed.parentId, traceFlags: Number.parseInt(parsed.flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

// A parent context continuing a stored or received traceparent; the root when there is none.
export function contextOfTraceparent(traceparent: string | undefined): Context {
  const remote = remoteSpanContext(traceparent);
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
}

export const contextOfSpan = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);

// Marks a span failed with the error's stable code, never its message: messages may quote data.
export function recordFailure(span: Span, error: unknown): void {
  const code = error instanceof LedgerError ? error.code : undefined;
  span.setAttribute(ATTR_ERROR_TYPE, code ?? (error instanceof Error ? error.name : 'unknown'));
  if (code) span.setAttribute(ATTR_ERROR_CODE, code);
  // A client's mistake (4xx) is not this service failing.
  if (!(error instanceof LedgerError) || error.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

type NamedSpanOptions = SpanOptions & { correlationId: string };

const start = (name: string, { correlationId, attributes, ...rest }: NamedSpanOptions, parent: Context): Span =>
  tracer.startSpan(name, { ...rest, attributes: { ...attributes, [ATTR_CORRELATION_ID]: correlationId } }, parent);

// Runs `work` inside a new child span of `parent`. (Also made active, for code that reads the
// active context when an application registers a context manager of its own.)
export async function inSpan<T>(name: string, options: NamedSpanOptions, work: (span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  const span = start(name, options, parent);
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
export function inSpanSync<T>(name: string, options: NamedSpanOptions, work: (span: Span) => T, parent: Context = context.active()): T {
  const span = start(name, options, parent);
  try {
    return work(span);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}
