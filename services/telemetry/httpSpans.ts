import { isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { instruments } from './instruments.ts';
import { ATTR_CORRELATION_ID } from './semconv.ts';
import { traceparentFor } from '../http/traceContext.ts';
import { contextOfSpan, traceparentOf, tracer } from './tracer.ts';

// A SERVER span per request (HTTP semantic conventions), child of the caller's W3C traceparent
// when it is well-formed; a malformed one is ignored by the propagator and the request starts a
// new trace. Probes and scrapes are not traced: they would bury the deliveries.
const UNTRACED = /^\/(metrics|health\/(live|ready))(\?|$)/;

const spans = new WeakMap<FastifyRequest, Span>();

// The request's span as a parent, for the work its handler starts (the delivery span).
export function requestContext(request: FastifyRequest): Context {
  const span = spans.get(request);
  return span ? contextOfSpan(span) : ROOT_CONTEXT;
}

// The traceparent events appended by this request store: its span's, or without tracing the
// inbound header when well-formed, or a fresh one.
export function requestTraceparent(request: FastifyRequest): string {
  const span = spans.get(request);
  return (span && traceparentOf(span)) ?? traceparentFor(request.headers.traceparent);
}

const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key],
};

export function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (UNTRACED.test(request.url)) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const userAgent = request.headers['user-agent'];
    const span = tracer.startSpan(
      request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_SCHEME]: request.protocol,
          [ATTR_CORRELATION_ID]: request.id,
          ...(typeof userAgent === 'string' ? { [ATTR_USER_AGENT_ORIGINAL]: userAgent.slice(0, 256) } : {}),
        },
      },
      parent,
    );
    spans.set(request, span);
    // The request's log lines lead to its trace (there is no active context to read them from).
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext)) {
      request.log = request.log.child({ traceId: spanContext.traceId, spanId: spanContext.spanId });
      reply.log = request.log;
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const span = spans.get(request);
    if (span) {
      if (route) {
        span.updateName(`${request.method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
        // The concrete path only where it cannot hold a customer reference (`email:…` refs).
        if (!route.includes(':')) span.setAttribute(ATTR_URL_PATH, route);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
    instruments().httpRequestDuration.record(reply.elapsedTime / 1000, {
      [ATTR_HTTP_REQUEST_METHOD]: request.method,
      ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
    });
    done();
  });
}
