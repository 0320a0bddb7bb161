import type { z } from 'zod';
import { LedgerError } from '../domain/errors.ts';

// Field paths only: never echo values back (they may be personal data or secrets).
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = issuesOf(result.error);
    throw new LedgerError('LEDGER_VALIDATION', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }
  return result.data;
}

export function parseJson(raw: Buffer | string): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    throw new LedgerError('LEDGER_MALFORMED_JSON');
  }
}

export function parseJsonBody<S extends z.ZodType>(schema: S, raw: Buffer | string): z.infer<S> {
  return parseWith(schema, parseJson(raw));
}
