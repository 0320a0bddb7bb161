import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { LedgerError, type ErrorCode } from '../../domain/errors.ts';
import { verifyZendeskSignature } from '../../services/ingest/support/zendeskSignature.ts';
import type { VerifyInput } from '../../services/ingest/webhookSource.ts';

const SECRET = 'zendesk-unit-secret';
const NOW = new Date('2026-03-02T10:00:00.000Z');
const BODY = Buffer.from('{"type":"zen:event-type:ticket.created","id":"01J","time":"2026-03-02T09:59:58Z","detail":{"id":"7","requester_id":"9"}}');

// As Zendesk documents it: base64(HMAC-SHA256(secret, timestamp + body)).
const zendeskSigns = (secret: string, timestamp: string, body: Buffer) =>
  createHmac('sha256', secret).update(timestamp + body.toString('utf8')).digest('base64');

function delivery(overrides: { headers?: IncomingHttpHeaders; body?: Buffer; timestamp?: string; secret?: string } = {}): VerifyInput {
  const timestamp = overrides.timestamp ?? '2026-03-02T09:59:59Z';
  return {
    rawBody: overrides.body ?? BODY,
    method: 'POST',
    url: '/webhooks/support',
    now: NOW,
    headers: {
      'content-type': 'application/json',
      'x-zendesk-webhook-signature': zendeskSigns(overrides.secret ?? SECRET, timestamp, BODY),
      'x-zendesk-webhook-signature-timestamp': timestamp,
      ...overrides.headers,
    },
  };
}

const rejectsWith = (code: ErrorCode, run: () => void) =>
  assert.throws(run, (error: unknown) => error instanceof LedgerError && error.code === code);

describe('Zendesk webhook signature', () => {
  test('accepts base64 HMAC-SHA256 of timestamp + body with the signing secret', () => {
    assert.doesNotThrow(() => verifyZendeskSignature(SECRET, delivery()));
  });

  test('applies a 5-minute window around now to the signature timestamp', () => {
    assert.doesNotThrow(() => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T09:55:00Z' })));
    assert.doesNotThrow(() => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T10:05:00Z' })));
    rejectsWith('LEDGER_SIGNATURE_STALE', () => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T09:54:59Z' })));
    rejectsWith('LEDGER_SIGNATURE_STALE', () => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T10:05:01Z' })));
    // An offset is honoured: 11:00+01:00 is 10:00Z.
    assert.doesNotThrow(() => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T11:00:00+01:00' })));
  });

  test('a timestamp that is not ISO 8601 with a zone is invalid', () => {
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(SECRET, delivery({ timestamp: String(NOW.getTime()) })));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(SECRET, delivery({ timestamp: '2026-03-02T10:00:00' })));
  });

  test('missing signature or timestamp header is LEDGER_SIGNATURE_MISSING', () => {
    rejectsWith('LEDGER_SIGNATURE_MISSING', () => verifyZendeskSignature(SECRET, delivery({ headers: { 'x-zendesk-webhook-signature': undefined } })));
    rejectsWith('LEDGER_SIGNATURE_MISSING', () => verifyZendeskSignature(SECRET, delivery({ headers: { 'x-zendesk-webhook-signature-timestamp': undefined } })));
  });

  test('a changed body, another secret or a forged signature is LEDGER_SIGNATURE_INVALID', () => {
    const changed = Buffer.from(BODY.toString().replace('"9"', '"10"'));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(SECRET, delivery({ body: changed })));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(SECRET, delivery({ secret: 'wrong' })));
    const docsExample = 'wxL5Lkx5pktp+TKZyXluPgN3pSKWX2eaP1zhMfh+J6c=';
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(SECRET, delivery({ headers: { 'x-zendesk-webhook-signature': docsExample } })));
  });

  test('fails closed without a configured secret', () => {
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyZendeskSignature(undefined, delivery()));
  });
});
