// A caller-supplied correlation id is honoured only when it is short and plain, so it cannot
// forge log lines or blow up log storage. The same rule admits an id to `ledger trace`.
export const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const isCorrelationId = (value: unknown): value is string => typeof value === 'string' && CORRELATION_ID.test(value);
