import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
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
import { tracer } from './tracer.ts';

// A SERVER span per request (HTTP semantic conventions), child of the caller's W3C traceparent
// when it is well-formed; a malformed one is ignored by the propagator and the request starts a
// new trace. Probes and scrapes are not traced: they would bury the deliveries.
const UNTRACED = /^\/(metrics|health\/(live|ready))(\?|$)/;

interface RequestTrace {
  span: Span;
  context: Context;
}

const traces = new WeakMap<FastifyRequest, RequestTrace>();

// The request's span context, for work the handler starts (the delivery span's parent).
export function requestContext(request: FastifyRequest): Context {
  return traces.get(request)?.context ?? context.active();
}

const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key],
};

export function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
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
    const active = trace.setSpan(parent, span);
    traces.set(request, { span, context: active });
    context.with(active, done);
  });
  // The body arrives on the socket's own async context, which loses the one entered above:
  // enter it again just before the handler runs.
  app.addHook('preHandler', (request, _reply, done) => {
    const entry = traces.get(request);
    if (entry) context.with(entry.context, done);
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const entry = traces.get(request);
    if (entry) {
      const { span } = entry;
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
