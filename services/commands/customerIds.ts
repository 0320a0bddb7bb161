import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz';

// `cust_` + 20 base-54 characters (~115 bits): unguessable, URL-safe, no look-alike letters.
export function newCustomerId(): string {
  const bytes = randomBytes(20);
  let id = 'cust_';
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}

export const streamIdOf = (customerId: string): string => `customer-${customerId}`;

export const customerIdOfStream = (streamId: string): string => streamId.replace(/^customer-/, '');
