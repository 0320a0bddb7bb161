import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorCatalogue, LedgerError, type ErrorCode } from '../../domain/errors.ts';
import { isStoreUnavailable } from '../eventstore/storeUnavailable.ts';

// The one place an error becomes an HTTP response: RFC 9457 problem details, with the stable
// LEDGER_* code. Nothing from the error's message, stack or cause reaches the client unless it
// is a LedgerError, whose message and details are written for clients.

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance: string;
  correlationId: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const problemType = (code: ErrorCode): string => `urn:customer-ledger:problem:${code}`;

// Fastify's own request errors, by their FST_ code; any other FST_ client error by its status.
const frameworkCodes = new Map<string, ErrorCode>([
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'LEDGER_BODY_TOO_LARGE'],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'LEDGER_UNSUPPORTED_MEDIA_TYPE'],
  ['FST_ERR_CTP_INVALID_JSON_BODY', 'LEDGER_MALFORMED_JSON'],
  ['FST_ERR_CTP_EMPTY_JSON_BODY', 'LEDGER_MALFORMED_JSON'],
  ['FST_ERR_NOT_FOUND', 'LEDGER_NOT_FOUND'],
]);
const frameworkStatuses = new Map<number, ErrorCode>([
  [400, 'LEDGER_VALIDATION'],
  [404, 'LEDGER_NOT_FOUND'],
  [413, 'LEDGER_BODY_TOO_LARGE'],
  [414, 'LEDGER_VALIDATION'],
  [415, 'LEDGER_UNSUPPORTED_MEDIA_TYPE'],
  [429, 'LEDGER_RATE_LIMITED'],
]);

function frameworkCodeOf(error: Partial<FastifyError> | null): ErrorCode | undefined {
  if (typeof error?.code !== 'string' || !error.code.startsWith('FST_')) return undefined;
  return frameworkCodes.get(error.code) ?? frameworkStatuses.get(error.statusCode ?? 500);
}

interface Mapped {
  code: ErrorCode;
  detail: string;
  extensions: Record<string, unknown>;
}

function mapError(error: unknown): Mapped {
  // A 500 is our bug: its message may describe stored data or code, so the client gets the
  // catalogue title and the log gets the rest.
  if (error instanceof LedgerError && error.status !== 500) {
    return { code: error.code, detail: error.message, extensions: error.details ?? {} };
  }
  if (error instanceof LedgerError) return { code: error.code, detail: errorCatalogue[error.code].title, extensions: {} };
  const fastifyError = error as Partial<FastifyError> | null;
  const frameworkCode = frameworkCodeOf(fastifyError);
  if (frameworkCode === 'LEDGER_VALIDATION' && Array.isArray(fastifyError?.validation)) {
    // ajv paths are JSON pointers into the part that failed (body, querystring, params, headers).
    const context = fastifyError.validationContext ?? 'body';
    const errors = fastifyError.validation.map((v) => ({ path: `${context}${v.instancePath}`, message: v.message ?? 'invalid' }));
    return { code: frameworkCode, detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '), extensions: { errors } };
  }
  if (frameworkCode) return { code: frameworkCode, detail: errorCatalogue[frameworkCode].title, extensions: {} };
  if (isStoreUnavailable(error)) {
    return { code: 'LEDGER_STORE_UNAVAILABLE', detail: errorCatalogue.LEDGER_STORE_UNAVAILABLE.title, extensions: {} };
  }
  return { code: 'LEDGER_INTERNAL', detail: 'An unexpected error occurred; quote the correlation id when reporting it', extensions: {} };
}

export function problemFor(error: unknown, request: FastifyRequest): ProblemDetails {
  const { code, detail, extensions } = mapError(error);
  return {
    ...extensions,
    type: problemType(code),
    title: errorCatalogue[code].title,
    status: errorCatalogue[code].status,
    code,
    detail,
    // The path only: a query string may carry tokens.
    instance: request.url.split('?')[0] ?? '/',
    correlationId: request.id,
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetails): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

const RETRY_LATER: ReadonlySet<ErrorCode> = new Set(['LEDGER_OVERLOADED', 'LEDGER_BUSY']);

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = problemFor(error, request);
  // Internals go to the log (with the correlation id), never to the client. Load shedding and a
  // customer's write contention are expected answers, not failures: no error line (and no stack)
  // per refused request, which under overload would be thousands a second.
  if (problem.status >= 500 && !RETRY_LATER.has(problem.code)) request.log.error({ err: error, code: problem.code }, 'request failed');
  else request.log.info({ code: problem.code }, 'request rejected');
  return sendProblem(reply, problem);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, problemFor(new LedgerError('LEDGER_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0] ?? '/'}`), request));
}

// Errors on a connection that no route answers: a request not wholly received within
// LEDGER_REQUEST_TIMEOUT_MS, headers past Node's limit, bytes that are not HTTP. Answered with
// the same problem details and a stable code (fastify's default writes its own JSON shape), then
// the socket is closed. No request id exists yet, so one is minted for the answer and the log.
const CONNECTION_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'LEDGER_REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'LEDGER_HEADERS_TOO_LARGE',
};

export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = CONNECTION_ERRORS[error.code ?? ''] ?? 'LEDGER_MALFORMED_REQUEST';
  const { status, title } = errorCatalogue[code];
  const correlationId = randomUUID();
  this.log.info({ code, correlationId }, 'request rejected');
  if (socket.writable) {
    const body = JSON.stringify({ type: problemType(code), title, status, code, detail: title, correlationId });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Correlation-Id: ${correlationId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
