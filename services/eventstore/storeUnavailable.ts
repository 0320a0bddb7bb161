// Driver failures meaning "the store cannot answer right now": the store's own errors and the
// HTTP error handler both answer 503 for them, so providers retry, rather than a 500 that reads as
// a bug. Node socket codes; SQLSTATE 08xxx connection exceptions, 57P0x shutdowns, 57014 a
// statement cancelled (by DATABASE_QUERY_TIMEOUT_MS or an operator), 53300 too many connections;
// and the messages node-postgres and PGlite give without a code.
const CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|08...|57P0.|57014|53300)$/;
const MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end|PGlite is closed/i;

export function isStoreUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (typeof code === 'string' && CODES.test(code)) || (typeof message === 'string' && MESSAGES.test(message));
}
