import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { maskSource } from '../support/sourceMask.ts';

// Numbers leave SQL as text (`id::text as id`, `position::text`), because PGlite reads int8 as
// a JS number. In PostgreSQL, ORDER BY a bare name means the OUTPUT column when there is one: so
// `select id::text as id … order by id` sorts '10' before '9'. That put the admin audit log,
// redelivery windows, parked-event drains and correlation trails out of order past nine rows.
// Every ORDER BY term naming a text-cast output column must qualify the table's column instead.

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

export function textOrderedTerms(sql: string): string[] {
  const textOutputs = new Set<string>();
  for (const m of sql.matchAll(/(?:\b\w+\.)?(\w+)::text(?:\s+as\s+(\w+))?/gi)) textOutputs.add((m[2] ?? m[1]!).toLowerCase());
  const offending: string[] = [];
  for (const m of sql.matchAll(/order\s+by\s+([\s\S]*?)(?=\blimit\b|\boffset\b|\)|;|$)/gi)) {
    for (const term of m[1]!.split(',')) {
      const name = /^\s*(\w+)\s*(?:asc|desc)?\s*$/i.exec(term)?.[1]?.toLowerCase();
      if (name !== undefined && textOutputs.has(name)) offending.push(name);
    }
  }
  return offending;
}

test('the check itself: a text-cast output column in ORDER BY is caught, a qualified column is not', () => {
  assert.deepEqual(textOrderedTerms('select id::text as id from t order by id limit 3'), ['id']);
  assert.deepEqual(textOrderedTerms('select position::text, x from t order by projection, position'), ['position']);
  assert.deepEqual(textOrderedTerms('select id::text as id from t order by t.id desc limit 3'), []);
  assert.deepEqual(textOrderedTerms('select position::text as position_text from t order by position'), []);
});

test('no SQL in services/ orders by the text form of a number', () => {
  const found: string[] = [];
  for (const file of sourceFiles('services')) {
    for (const sql of maskSource(readFileSync(file, 'utf8')).literals.filter((literal) => /\bselect\b/i.test(literal))) {
      for (const name of textOrderedTerms(sql)) found.push(`${file}: order by ${name} sorts its text (qualify it: <table>.${name})`);
    }
  }
  assert.deepEqual(found, []);
});
