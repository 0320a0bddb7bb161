import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { LedgerError, type ErrorCode } from '../../domain/errors.ts';
import { hubspotRequestUri, hubspotV1Signature, verifyHubspotSignature } from '../../services/ingest/crm/hubspotSignature.ts';
import type { VerifyInput } from '../../services/ingest/webhookSource.ts';
import { providerFixtureUrl } from '../support/providerFixtures.ts';

const fixture = (name: string) => readFileSync(providerFixtureUrl('crm', name));

const SECRET = 'hubspot-unit-secret';
const NOW = new Date('2026-03-02T10:00:00.000Z');
const BODY = Buffer.from('[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1772445600000,"subscriptionType":"contact.creation","objectId":4}]');

// Signed the way HubSpot documents it, independently of the code under test.
function hubspotSigns(secret: string, method: string, uri: string, body: Buffer, timestamp: string): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body.toString('utf8')}${timestamp}`, 'utf8').digest('base64');
}

interface Overrides {
  headers?: IncomingHttpHeaders;
  body?: Buffer;
  url?: string;
  signedUri?: string;
  signedAt?: number;
  secret?: string;
}

function delivery(overrides: Overrides = {}): VerifyInput {
  const url = overrides.url ?? '/webhooks/crm';
  const timestamp = String(overrides.signedAt ?? NOW.getTime() - 1_000);
  const signature = hubspotSigns(overrides.secret ?? SECRET, 'POST', overrides.signedUri ?? `https://ledger.example.com${url}`, BODY, timestamp);
  return {
    rawBody: overrides.body ?? BODY,
    method: 'POST',
    url,
    now: NOW,
    headers: {
      host: 'ledger.example.com',
      'content-type': 'application/json',
      'x-hubspot-signature-v3': signature,
      'x-hubspot-request-timestamp': timestamp,
      ...overrides.headers,
    },
  };
}

function rejectsWith(code: ErrorCode, run: () => void): void {
  assert.throws(run, (error: unknown) => error instanceof LedgerError && error.code === code);
}

describe('HubSpot request validation', () => {
  test('hashes the body byte for byte: HubSpot\'s published v1 vector matches the fixture as stored', () => {
    const body = fixture('contact.creation.v1-doc-vector.json');
    assert.equal(
      hubspotV1Signature('yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', body),
      '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
    );
    // One byte more (a trailing newline an editor might add) is another body.
    const withNewline = Buffer.concat([body, Buffer.from('\n')]);
    assert.notEqual(hubspotV1Signature('yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', withNewline), '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
  });

  test('accepts a v3 signature over method + https URL + body + timestamp', () => {
    assert.doesNotThrow(() => verifyHubspotSignature(SECRET, delivery()));
  });

  test('accepts a timestamp up to 5 minutes either side of now, and not a millisecond more', () => {
    assert.doesNotThrow(() => verifyHubspotSignature(SECRET, delivery({ signedAt: NOW.getTime() - 300_000 })));
    assert.doesNotThrow(() => verifyHubspotSignature(SECRET, delivery({ signedAt: NOW.getTime() + 300_000 })));
    rejectsWith('LEDGER_SIGNATURE_STALE', () => verifyHubspotSignature(SECRET, delivery({ signedAt: NOW.getTime() - 300_001 })));
    rejectsWith('LEDGER_SIGNATURE_STALE', () => verifyHubspotSignature(SECRET, delivery({ signedAt: NOW.getTime() + 300_001 })));
  });

  test('a missing signature or timestamp header is LEDGER_SIGNATURE_MISSING', () => {
    rejectsWith('LEDGER_SIGNATURE_MISSING', () => verifyHubspotSignature(SECRET, delivery({ headers: { 'x-hubspot-signature-v3': undefined } })));
    rejectsWith('LEDGER_SIGNATURE_MISSING', () => verifyHubspotSignature(SECRET, delivery({ headers: { 'x-hubspot-request-timestamp': undefined } })));
    rejectsWith('LEDGER_SIGNATURE_MISSING', () => verifyHubspotSignature(SECRET, delivery({ headers: { 'x-hubspot-signature-v3': '' } })));
  });

  test('a timestamp that is not milliseconds since the epoch is invalid', () => {
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(SECRET, delivery({ headers: { 'x-hubspot-request-timestamp': '2026-03-02T10:00:00Z' } })));
  });

  test('a changed body, another secret, another URL or a forged signature is LEDGER_SIGNATURE_INVALID', () => {
    const changed = Buffer.from(BODY.toString().replace('"objectId":4', '"objectId":5'));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(SECRET, delivery({ body: changed })));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(SECRET, delivery({ secret: 'another-secret' })));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(SECRET, delivery({ signedUri: 'https://ledger.example.com/webhooks/other' })));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(SECRET, delivery({ headers: { 'x-hubspot-signature-v3': 'sha256=abc123' } })));
  });

  test('fails closed without a configured secret, even for a delivery signed with an empty one', () => {
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature(undefined, delivery()));
    rejectsWith('LEDGER_SIGNATURE_INVALID', () => verifyHubspotSignature('', delivery({ secret: '' })));
  });

  test('the signed URL follows the proxy: X-Forwarded-Proto and X-Forwarded-Host win over the Host header', () => {
    const behindProxy = delivery({
      signedUri: 'http://hooks.example.org/webhooks/crm',
      headers: { host: '10.0.0.7:3000', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'hooks.example.org, proxy.internal' },
    });
    assert.doesNotThrow(() => verifyHubspotSignature(SECRET, behindProxy));
    assert.equal(hubspotRequestUri('/webhooks/crm', { host: 'ledger.example.com:8443' }), 'https://ledger.example.com:8443/webhooks/crm');
  });

  test('decodes the characters HubSpot decodes before signing, and only those', () => {
    assert.equal(
      hubspotRequestUri('/webhooks/crm?portal=a%3Ab%2Fc%40d%2cx%20y%2B', { host: 'ledger.example.com' }),
      'https://ledger.example.com/webhooks/crm?portal=a:b/c@d,x%20y%2B',
    );
    const url = '/webhooks/crm?state=a%3Ab';
    assert.doesNotThrow(() => verifyHubspotSignature(SECRET, delivery({ url, signedUri: 'https://ledger.example.com/webhooks/crm?state=a:b' })));
  });
});
