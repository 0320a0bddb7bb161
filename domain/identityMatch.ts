import type { AmbiguousIdentity } from '../contracts/events/decisions.ts';
import { IDENTITY_KINDS, type IdentityKind } from '../contracts/events/vocabulary.ts';

// Which customer a delivery's external ids name. The service looks the claims up in the
// identity map (I/O); what the answer means is decided here.

// A claim as the identity map answered it: `owner` is the customer that holds it, if any.
export interface OwnedClaim {
  kind: string;
  externalId: string;
  owner: string | undefined;
}

export interface Candidate {
  customerId: string;
  identities: readonly { kind: IdentityKind; externalId: string }[];
  // `kind:externalId` of e-mails already flagged as shared with another customer.
  sharedIdentitiesFlagged: readonly string[];
}

export type IdentityMatch =
  // The candidate is the customer.
  | { kind: 'same_customer' }
  // The candidate is the customer, and shares the delivery's e-mail with another one: flag it.
  | { kind: 'shares_identity'; identity: AmbiguousIdentity }
  // The candidate cannot be the customer: start a new one for the unowned ids, and flag it.
  | { kind: 'new_customer'; identity: AmbiguousIdentity };

// A person has one record in each of these systems. An e-mail is different: duplicate records
// and people share it, and it is what links records across systems.
const ONE_PER_PERSON: ReadonlySet<string> = new Set<IdentityKind>(['stripe', 'crm', 'support', 'app']);

const isIdentityKind = (kind: string): kind is IdentityKind => (IDENTITY_KINDS as readonly string[]).includes(kind);

// The candidate: the owner of the strongest claim that has one (claims come strongest first).
export function candidateOf(claims: readonly OwnedClaim[]): string | undefined {
  return claims.find((claim) => claim.owner !== undefined)?.owner;
}

// DESIGN.md: "an ambiguous match (one email, two customers) is a needs_review case, not a
// guess". Linking a new Stripe customer to the CRM lead with its e-mail is what the identity
// map is for. Two things are not:
// - the e-mail found the candidate, and the candidate already has another id of the kind the
//   delivery names (a second Stripe customer): merging would be a guess;
// - the delivery's own id found the candidate, and its e-mail belongs to someone else (the two
//   records were started apart, e.g. a subscription event that carried no e-mail came first).
// Either way the same question reaches a human once, whichever delivery arrives first.
export function matchCandidate(claims: readonly OwnedClaim[], candidate: Candidate): IdentityMatch {
  const via = claims.findIndex((claim) => claim.owner === candidate.customerId);
  const matchedBy = claims[via];
  if (matchedBy === undefined) return { kind: 'same_customer' };
  if (matchedBy.kind === 'email') return matchByEmail(claims.slice(0, via), matchedBy, candidate);

  const claimed = matchedBy;
  if (!isIdentityKind(claimed.kind)) return { kind: 'same_customer' };
  const shared = claims.slice(via + 1).find((claim) => claim.kind === 'email' && claim.owner !== undefined && claim.owner !== candidate.customerId);
  if (shared?.owner === undefined || candidate.sharedIdentitiesFlagged.includes(`email:${shared.externalId}`)) return { kind: 'same_customer' };
  return {
    kind: 'shares_identity',
    identity: { claimed: { kind: claimed.kind, externalId: claimed.externalId }, matchedBy: { kind: 'email', externalId: shared.externalId }, otherCustomerId: shared.owner },
  };
}

function matchByEmail(stronger: readonly OwnedClaim[], email: OwnedClaim, candidate: Candidate): IdentityMatch {
  for (const claimed of stronger) {
    if (!isIdentityKind(claimed.kind) || !ONE_PER_PERSON.has(claimed.kind)) continue;
    const held = candidate.identities.find((identity) => identity.kind === claimed.kind && identity.externalId !== claimed.externalId);
    if (held === undefined) continue;
    return {
      kind: 'new_customer',
      identity: {
        claimed: { kind: claimed.kind, externalId: claimed.externalId },
        matchedBy: { kind: 'email', externalId: email.externalId },
        otherCustomerId: candidate.customerId,
        otherHolds: { kind: held.kind, externalId: held.externalId },
      },
    };
  }
  return { kind: 'same_customer' };
}
