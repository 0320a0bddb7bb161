// The one error catalogue. Codes are stable: clients and alerts match on them, never on messages.
export const errorCatalogue = {
  LEDGER_CONCURRENCY: { status: 409, title: 'Stream version conflict' },
  LEDGER_IDENTITY_CONFLICT: { status: 409, title: 'External id already belongs to another customer' },
  LEDGER_VALIDATION: { status: 400, title: 'Request does not match the contract' },
  LEDGER_MALFORMED_JSON: { status: 400, title: 'Body is not valid JSON' },
  LEDGER_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  LEDGER_BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  // Answered on the connection, before any route (services/http/errorHandler.ts, clientErrorHandler).
  LEDGER_REQUEST_TIMEOUT: { status: 408, title: 'Request not received in time' },
  LEDGER_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  LEDGER_MALFORMED_REQUEST: { status: 400, title: 'Not a valid HTTP request' },
  LEDGER_SIGNATURE_MISSING: { status: 400, title: 'Signature header missing' },
  LEDGER_SIGNATURE_INVALID: { status: 400, title: 'Signature does not match' },
  LEDGER_SIGNATURE_STALE: { status: 400, title: 'Signature timestamp outside tolerance' },
  LEDGER_UNAUTHENTICATED: { status: 401, title: 'Missing or unknown API key' },
  LEDGER_FORBIDDEN: { status: 403, title: 'API key lacks the required scope' },
  LEDGER_NOT_FOUND: { status: 404, title: 'Not found' },
  LEDGER_IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused with a different body' },
  // A webhook event id already recorded for an event of another type (test payloads sharing one).
  LEDGER_EVENT_ID_REUSED: { status: 422, title: 'Event id already recorded for a different event' },
  LEDGER_IDEMPOTENCY_KEY_MISSING: { status: 400, title: 'Idempotency-Key header required' },
  // Another request with the same key has not finished yet (the IETF idempotency-key draft's 409).
  LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  LEDGER_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  LEDGER_STORE_UNAVAILABLE: { status: 503, title: 'Event store unavailable, retry later' },
  LEDGER_BUSY: { status: 503, title: 'Too many concurrent writes for one customer, retry later' },
  LEDGER_OVERLOADED: { status: 503, title: 'At capacity, retry later' },
  LEDGER_KAFKA_UNAVAILABLE: { status: 503, title: 'Kafka unreachable, retry later' },
  LEDGER_ILLEGAL_STATE: { status: 409, title: 'Not allowed in the current state' },
  // A stored or decided event that no schema version (after upcasting) accepts: a bug or a
  // newer writer, never the client's fault.
  LEDGER_EVENT_SCHEMA: { status: 500, title: 'Event does not match its schema' },
  LEDGER_INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class LedgerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  // Safe, client-facing details (field paths, expected versions); never internals.
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? errorCatalogue[code].title);
    this.name = 'LedgerError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = details;
  }
}

export class ConcurrencyError extends LedgerError {
  constructor(
    readonly streamId: string,
    readonly expected: number | 'no_stream' | 'any',
    readonly actual: number | undefined,
  ) {
    super('LEDGER_CONCURRENCY', `Stream ${streamId} expected version ${String(expected)}, found ${actual ?? 'no stream'}`, {
      streamId,
      expected: String(expected),
      actual: actual ?? null,
    });
    this.name = 'ConcurrencyError';
  }
}

export class IdentityConflictError extends LedgerError {
  constructor(
    readonly kind: string,
    readonly externalId: string,
    readonly existingCustomerId: string,
  ) {
    super('LEDGER_IDENTITY_CONFLICT', `${kind} id already linked to another customer`, { kind });
    this.name = 'IdentityConflictError';
  }
}
