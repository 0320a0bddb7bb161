import { IDENTITY_KINDS, type IdentityKind } from '../../contracts/events/vocabulary.ts';
import { emailIdentityId } from '../../contracts/inbound/emailAddress.ts';
import type { EventStore } from '../eventstore/port.ts';

// A customer reference as every read API takes it: our id (`cust_…`) or `<kind>:<external id>`.
const isIdentityKind = (kind: string): kind is IdentityKind => (IDENTITY_KINDS as readonly string[]).includes(kind);

export async function customerIdOf(store: EventStore, ref: string): Promise<string | undefined> {
  if (ref.startsWith('cust_')) return ref;
  const colon = ref.indexOf(':');
  const kind = ref.slice(0, colon);
  const externalId = ref.slice(colon + 1);
  // The contract admits only known kinds; this keeps the type honest.
  if (!isIdentityKind(kind)) return undefined;
  return store.resolveIdentity(kind, kind === 'email' ? emailIdentityId(externalId) : externalId);
}

// RFC 9110 If-None-Match: weak comparison, `*` matches any current representation.
export function matchesAny(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

