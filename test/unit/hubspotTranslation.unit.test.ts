import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { LedgerError } from '../../domain/errors.ts';
import { createHubspotSource } from '../../services/ingest/crm/hubspotSource.ts';
import { providerFixtureUrl } from '../support/providerFixtures.ts';

const fixture = (name: string) => readFileSync(providerFixtureUrl('crm', name));
const source = createHubspotSource('unused-here');
const translate = (body: Buffer | string) => source.translate(source.parse(Buffer.from(body)));

const item = (overrides: Record<string, unknown>) => ({
  eventId: 100,
  subscriptionId: 200,
  portalId: 300,
  appId: 400,
  occurredAt: 1772445600123,
  subscriptionType: 'contact.propertyChange',
  attemptNumber: 0,
  objectId: 500,
  changeSource: 'CRM_UI',
  ...overrides,
});
const batch = (...items: Record<string, unknown>[]) => JSON.stringify(items.map(item));

describe('HubSpot batches -> facts', () => {
  test('a batch that names one e-mail for a contact claims it for every fact of that contact; two different ones, neither', () => {
    const claims = (body: string) => translate(body).facts.map((f) => f.identities.map((c) => `${c.kind}:${c.externalId}`).join(' '));
    const creation = { eventId: 1, subscriptionType: 'contact.creation' };
    const email = (eventId: number, value: string) => ({ eventId, propertyName: 'email', propertyValue: value });
    assert.deepEqual(claims(batch(creation, { eventId: 2, propertyName: 'firstname', propertyValue: 'Bob' }, email(3, 'Bob@Example.com'), { eventId: 4, objectId: 501, subscriptionType: 'contact.creation' })), [
      'crm:500 email:bob@example.com',
      'crm:500 email:bob@example.com',
      'crm:500 email:bob@example.com',
      'crm:500 email:bob@example.com',
      'crm:500 email:bob@example.com',
      'crm:501',
    ]);
    assert.deepEqual(claims(batch(creation, email(2, 'bob@example.com'), email(3, 'robert@example.com'))), [
      'crm:500',
      'crm:500',
      'crm:500 email:bob@example.com',
      'crm:500',
      'crm:500 email:robert@example.com',
    ]);
  });

  test('contact.creation (HubSpot doc vector) is a lead captured on the CRM contact, which may be created', () => {
    const { facts, ignored } = translate(fixture('contact.creation.v1-doc-vector.json'));
    assert.deepEqual(ignored, []);
    assert.deepEqual(facts, [
      {
        sourceEventId: '62515:12345:1:1564113600000:123',
        identities: [{ kind: 'crm', externalId: '123' }],
        createIfMissing: true,
        fact: { type: 'LeadCaptured', schemaVersion: 2, data: { occurredAt: '2019-07-26T04:00:00.000Z', channel: 'crm:crm' } },
      },
    ]);
  });

  test('the with-headers example body maps the same way, with the millisecond time kept', () => {
    const wrapped = JSON.parse(fixture('contact.creation.with-headers.json').toString()) as { payload: { body: { data: unknown } } };
    const { facts } = translate(JSON.stringify(wrapped.payload.body.data));
    assert.equal(facts.length, 1);
    assert.equal(facts[0]?.sourceEventId, '12345678:234567:567890123:1708986598741:65059681032');
    assert.deepEqual(facts[0]?.identities, [{ kind: 'crm', externalId: '65059681032' }]);
    assert.deepEqual(facts[0]?.fact.data, { occurredAt: '2024-02-26T22:29:58.741Z', channel: 'crm:crm_ui' });
  });

  test('a redacted sensitive property is recorded as the literal REDACTED, never as a value', () => {
    const { facts } = translate(fixture('contact.propertyChange.json'));
    assert.deepEqual(facts, [
      {
        sourceEventId: '891472211:686627:3029365631:1715203101896:847297356',
        identities: [{ kind: 'crm', externalId: '847297356' }],
        createIfMissing: true,
        fact: {
          type: 'CrmPropertyChanged',
          schemaVersion: 1,
          data: { occurredAt: '2024-05-08T21:18:21.896Z', property: 'passport_number', value: 'REDACTED' },
        },
      },
    ]);
  });

  test('each item of a batch is its own fact, in order, keyed on (portalId, subscriptionId, eventId, occurredAt, objectId)', () => {
    const { facts } = translate(
      batch(
        { subscriptionType: 'contact.creation', objectId: 1 },
        // Same eventId, another contact: HubSpot's eventId alone is not unique.
        { subscriptionType: 'contact.creation', objectId: 2 },
        { propertyName: 'lifecyclestage', propertyValue: 'customer', objectId: 1 },
      ),
    );
    assert.deepEqual(
      facts.map((f) => [f.sourceEventId, f.fact.type]),
      [
        ['300:200:100:1772445600123:1', 'LeadCaptured'],
        ['300:200:100:1772445600123:2', 'LeadCaptured'],
        ['300:200:100:1772445600123:1', 'CrmPropertyChanged'],
      ],
    );
    assert.equal(new Set(facts.map((f) => f.sourceEventId)).size, 2, 'same key only where HubSpot sent the same tuple');
  });

  test('lifecycle stage and owner changes are CRM facts, never a lifecycle decision of ours', () => {
    const { facts } = translate(
      batch(
        { propertyName: 'lifecyclestage', propertyValue: 'customer' },
        { eventId: 101, propertyName: 'hubspot_owner_id', propertyValue: '8812' },
      ),
    );
    assert.deepEqual(
      facts.map((f) => [f.fact.type, f.fact.data]),
      [
        ['CrmPropertyChanged', { occurredAt: '2026-03-02T10:00:00.123Z', property: 'lifecyclestage', value: 'customer' }],
        ['CrmPropertyChanged', { occurredAt: '2026-03-02T10:00:00.123Z', property: 'hubspot_owner_id', value: '8812' }],
      ],
    );
  });

  test('email, first name, last name and phone also update the profile; an email change claims the address', () => {
    const { facts } = translate(
      batch(
        { eventId: 1, propertyName: 'email', propertyValue: ' Ana.Lima@Example.com ' },
        { eventId: 2, propertyName: 'firstname', propertyValue: 'Ana' },
        { eventId: 3, propertyName: 'lastname', propertyValue: '' },
        { eventId: 4, propertyName: 'phone', propertyValue: '+351 912 345 678' },
      ),
    );
    const profiles = facts.filter((f) => f.fact.type === 'CustomerProfileUpdated');
    assert.deepEqual(
      profiles.map((f) => f.fact.data),
      [
        { occurredAt: '2026-03-02T10:00:00.123Z', email: 'Ana.Lima@Example.com' },
        { occurredAt: '2026-03-02T10:00:00.123Z', firstName: 'Ana' },
        // HubSpot clears a property with "": the profile field is cleared too.
        { occurredAt: '2026-03-02T10:00:00.123Z', lastName: null },
        { occurredAt: '2026-03-02T10:00:00.123Z', phone: '+351 912 345 678' },
      ],
    );
    assert.deepEqual(profiles[0]?.identities, [
      { kind: 'crm', externalId: '500' },
      { kind: 'email', externalId: 'ana.lima@example.com' },
    ]);
    assert.equal(profiles[0]?.sourceEventId, '300:200:1:1772445600123:500:profile');
    assert.equal(facts.filter((f) => f.fact.type === 'CrmPropertyChanged').length, 4);
  });

  test('a redacted or malformed email stays a CRM property only', () => {
    const { facts } = translate(
      batch({ eventId: 1, propertyName: 'email', propertyValue: 'REDACTED' }, { eventId: 2, propertyName: 'email', propertyValue: 'not an address' }),
    );
    assert.deepEqual(
      facts.map((f) => f.fact.type),
      ['CrmPropertyChanged', 'CrmPropertyChanged'],
    );
  });

  test('a deletion never creates the customer it deletes', () => {
    const { facts } = translate(batch({ subscriptionType: 'contact.deletion' }));
    assert.deepEqual(facts, [
      {
        sourceEventId: '300:200:100:1772445600123:500',
        identities: [{ kind: 'crm', externalId: '500' }],
        createIfMissing: false,
        fact: { type: 'CustomerDeleted', schemaVersion: 1, data: { occurredAt: '2026-03-02T10:00:00.123Z', deletedIn: 'crm' } },
      },
    ]);
    const privacy = translate(batch({ subscriptionType: 'contact.privacyDeletion' })).facts[0];
    assert.equal(privacy?.createIfMissing, false);
    assert.deepEqual(privacy?.fact.data, { occurredAt: '2026-03-02T10:00:00.123Z', deletedIn: 'crm', reason: 'privacy deletion' });
  });

  test('other subscription types are acknowledged as ignored, without failing the rest of the batch', () => {
    const { facts, ignored } = translate(
      JSON.stringify([
        item({ subscriptionType: 'deal.creation', objectId: 9 }),
        // Association changes carry no objectId.
        { ...item({ subscriptionType: 'contact.associationChange' }), objectId: undefined, fromObjectId: 1, toObjectId: 2 },
        item({ subscriptionType: 'contact.creation' }),
      ]),
    );
    assert.deepEqual(
      facts.map((f) => f.fact.type),
      ['LeadCaptured'],
    );
    assert.deepEqual(ignored, [
      { sourceEventId: '300:200:100:1772445600123:9', reason: 'unsupported subscriptionType deal.creation' },
      { sourceEventId: '300:200:100:1772445600123:', reason: 'contact.associationChange without objectId' },
    ]);
  });

  test('a body that is not a batch of HubSpot events fails with the field path', () => {
    assert.throws(() => translate('{"eventId":1}'), (e: unknown) => e instanceof LedgerError && e.code === 'LEDGER_VALIDATION');
    assert.throws(
      () => translate(batch({ occurredAt: '2026-03-02' })),
      (e: unknown) => e instanceof LedgerError && e.code === 'LEDGER_VALIDATION' && e.message.startsWith('0.occurredAt'),
    );
    assert.throws(() => translate('[{'), (e: unknown) => e instanceof LedgerError && e.code === 'LEDGER_MALFORMED_JSON');
  });
});
