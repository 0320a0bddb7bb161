import { CustomerRefParams } from '../../contracts/api/customerView.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import type { EventStore } from '../eventstore/port.ts';
import { customerIdOf } from '../http/customerRef.ts';

// What an engineer types (`cust_…`, `stripe:cus_…`, or a bare e-mail address) as the ref the
// API takes; anything else is refused with the forms it accepts.
export function customerRefOf(typed: string): string {
  const ref = typed.trim();
  const bareEmail = !ref.startsWith('cust_') && !ref.includes(':') && ref.includes('@');
  return parseWith(CustomerRefParams, { ref: bareEmail ? `email:${ref}` : ref }).ref;
}

// The customer a ref names, only if it has a stream: an override must never start a stream for
// a mistyped id.
export async function existingCustomerId(store: EventStore, ref: string): Promise<string> {
  const customerId = await customerIdOf(store, ref);
  if (customerId !== undefined && (await store.streamVersion(streamIdOf(customerId))) !== undefined) return customerId;
  throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');
}
