import { z } from 'zod';

// E-mail addresses as the sources hand them over: checked before a fact carries one (a CRM
// property or a desk user may hold anything), and normalised before they become an identity
// key, so "Ana@Example.com " from the desk finds the customer Stripe knows as "ana@example.com".

const emailAddress = z.email();

export function isEmailAddress(value: string): boolean {
  return emailAddress.safeParse(value.trim()).success;
}

// The `email` identity's external id. Lower-cases the whole address: mailbox names are
// case-sensitive in theory, but no mail provider our customers use treats them so, and a
// duplicate customer costs more than that corner case.
export function emailIdentityId(value: string): string {
  return value.trim().toLowerCase();
}
