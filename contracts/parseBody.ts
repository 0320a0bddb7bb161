import type { z } from 'zod';
import { LedgerError } from '../domain/errors.ts';

export interface FieldError {
  path: string;
  message: string;
}

// Field paths only: never echo values back (they may be personal data or secrets).
export function issuesOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

export const describeErrors = (errors: FieldError[]): string => errors.map((e) => `${e.path}: ${e.message}`).join('; ');

export const validationError = (errors: FieldError[]): LedgerError => new LedgerError('LEDGER_VALIDATION', describeErrors(errors), { errors });

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(issuesOf(result.error));
  return result.data;
}

export function parseJson(raw: Buffer | string): unknown {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LedgerError('LEDGER_MALFORMED_JSON');
  }
  // JSON carries NUL and unpaired surrogates only as \u escapes: a body without one is not walked.
  return text.includes('\\u') ? storable(value) : value;
}

// PostgreSQL's jsonb (PGlite's too) refuses NUL and unpaired surrogates in text, so a payload
// carrying one (a name pasted from somewhere) failed its append with a 500 on every retry, and
// the provider retried it for days. They are kept as U+FFFD, in keys too. In place: the value
// is a fresh parse.
export function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) value[i] = storable(value[i]);
  } else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const fixedKey = storableText(key);
      const fixed = storable(object[key]);
      if (fixedKey === key && fixed === object[key]) continue;
      if (fixedKey !== key) delete object[key];
      // defineProperty: a "__proto__" key of a parsed body is data, never the prototype.
      Object.defineProperty(object, fixedKey, { value: fixed, enumerable: true, writable: true, configurable: true });
    }
  }
  return value;
}

const storableText = (text: string): string =>
  text.isWellFormed() && !text.includes('\0') ? text : text.toWellFormed().replaceAll('\0', '\uFFFD');

export function parseJsonBody<S extends z.ZodType>(schema: S, raw: Buffer | string): z.infer<S> {
  return parseWith(schema, parseJson(raw));
}
