import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { maskSource } from '../support/sourceMask.ts';

// domain/ and projections/ must stay pure (STYLE.md rule 2): no I/O module, no clock, no
// randomness, so a replay gives the same answer twice. This check enforces it on every `npm test`.

const PURE_FOLDERS = ['domain', 'projections'];

const FORBIDDEN_MODULES: RegExp[] = [
  /^pg($|[/-])/,
  /^(fastify($|\/)|@fastify\/)/,
  /^kafkajs($|\/)/,
  /^@opentelemetry\//,
  /^@electric-sql\/pglite($|\/)/,
  /^@eventstore\/db-client($|\/)/,
  /^stripe($|\/)/,
  /^(node:)?(fs|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster)($|\/)/,
];

const FORBIDDEN_CALLS: { rule: string; pattern: RegExp }[] = [
  { rule: 'reads the clock: Date.now', pattern: /\bDate\s*\.\s*now\b/ },
  { rule: 'reads the clock: new Date() without a value', pattern: /\bnew\s+Date\s*(\(\s*\)|(?!\s*\())/ },
  { rule: 'reads the clock: Date() called as a function', pattern: /(?<![\w$.])(?<!\bnew\s+)Date\s*\(/ },
  { rule: 'reads the clock: performance.now / process.hrtime', pattern: /\bperformance\s*\.\s*now\b|\bprocess\s*\.\s*hrtime\b/ },
  { rule: 'randomness: Math.random', pattern: /\bMath\s*\.\s*random\b/ },
  { rule: 'randomness: crypto random ids or bytes', pattern: /\b(randomUUID|getRandomValues|randomBytes|randomInt)\s*\(/ },
  { rule: 'I/O: fetch', pattern: /(?<![\w$.])fetch\s*\(/ },
];

export interface Violation {
  file: string;
  line: number;
  rule: string;
}

export function findPurityViolations(source: string, file = '<source>'): Violation[] {
  const { code, withStrings } = maskSource(source);
  const lineAt = (index: number) => source.slice(0, index).split('\n').length;
  const violations: Violation[] = [];
  // Module specifiers: `from '…'`, `import '…'`, `import('…')`, `require('…')`.
  for (const match of code.matchAll(/(?<![\w$.])(from|import|(import|require)\s*\()\s*(?=['"`])/g)) {
    const at = match.index + match[0].length;
    const quote = withStrings[at] ?? "'";
    const specifier = withStrings.slice(at + 1, withStrings.indexOf(quote, at + 1));
    if (FORBIDDEN_MODULES.some((pattern) => pattern.test(specifier))) {
      violations.push({ file, line: lineAt(match.index), rule: `imports I/O module '${specifier}'` });
    }
  }
  // A computed module name cannot be checked, so it is not allowed here.
  for (const match of code.matchAll(/(?<![\w$.])(import|require)\s*\(\s*(?!['"`\s])/g)) {
    violations.push({ file, line: lineAt(match.index), rule: 'imports a computed module name' });
  }
  for (const { rule, pattern } of FORBIDDEN_CALLS) {
    for (const match of code.matchAll(new RegExp(pattern.source, 'g'))) {
      violations.push({ file, line: lineAt(match.index), rule });
    }
  }
  return violations.sort((a, b) => a.line - b.line);
}

export function checkFolder(folder: string): Violation[] {
  let entries: string[];
  try {
    entries = readdirSync(folder, { recursive: true }).map(String);
  } catch {
    return []; // a folder not created yet holds nothing impure
  }
  return entries
    .filter((name) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(name))
    .flatMap((name) => findPurityViolations(readFileSync(join(folder, name), 'utf8'), join(folder, name)));
}

describe('purity of domain/ and projections/', () => {
  for (const folder of PURE_FOLDERS) {
    test(`${folder}/ imports no I/O module and reads no clock or randomness`, () => {
      assert.deepEqual(checkFolder(folder), []);
    });
  }
});

describe('the purity checker', () => {
  const planted: [string, string][] = [
    ["import pg from 'pg';", "imports I/O module 'pg'"],
    ['import { Pool } from "pg-pool";', "imports I/O module 'pg-pool'"],
    ["import type { FastifyInstance } from 'fastify';", "imports I/O module 'fastify'"],
    ["export { Kafka } from 'kafkajs';", "imports I/O module 'kafkajs'"],
    ["import { trace } from '@opentelemetry/api';", "imports I/O module '@opentelemetry/api'"],
    ["import { PGlite } from '@electric-sql/pglite';", "imports I/O module '@electric-sql/pglite'"],
    ["import { EventStoreDBClient } from '@eventstore/db-client';", "imports I/O module '@eventstore/db-client'"],
    ["import Stripe from 'stripe';", "imports I/O module 'stripe'"],
    ["import { readFileSync } from 'node:fs';", "imports I/O module 'node:fs'"],
    ["import { readFile } from 'fs/promises';", "imports I/O module 'fs/promises'"],
    ["import net from 'node:net';", "imports I/O module 'node:net'"],
    ["import 'node:http';", "imports I/O module 'node:http'"],
    ["const cp = await import('node:child_process');", "imports I/O module 'node:child_process'"],
    ["const fs = require('fs');", "imports I/O module 'fs'"],
    ['const m = await import(name);', 'imports a computed module name'],
    ['const at = Date.now();', 'reads the clock: Date.now'],
    ['const now = Date . now;', 'reads the clock: Date.now'],
    ['const at = new Date();', 'reads the clock: new Date() without a value'],
    ['const at = new Date;', 'reads the clock: new Date() without a value'],
    ['const s = Date();', 'reads the clock: Date() called as a function'],
    ['const t = performance.now();', 'reads the clock: performance.now / process.hrtime'],
    ['const r = Math.random();', 'randomness: Math.random'],
    ['const id = crypto.randomUUID();', 'randomness: crypto random ids or bytes'],
    ['const id = randomUUID();', 'randomness: crypto random ids or bytes'],
    ['const res = await fetch(url);', 'I/O: fetch'],
    ['const s = `${Date.now()}`;', 'reads the clock: Date.now'],
    ['const s = `a${`b${Math.random()}`}`;', 'randomness: Math.random'],
  ];
  for (const [source, rule] of planted) {
    test(`flags: ${source}`, () => {
      assert.deepEqual(
        findPurityViolations(source).map((v) => v.rule),
        [rule],
      );
    });
  }

  test('accepts pure code, and ignores comments, strings and regex literals', () => {
    const pure = [
      "import { z } from 'zod';",
      "import type { RecordedEvent } from '../contracts/eventMetadata.ts';",
      "import { setup } from 'xstate';",
      "import { createHash } from 'node:crypto';",
      'const at = new Date(event.metadata.occurredAt);',
      'const ms = Date.parse(context.now); const epoch = Date.UTC(2026, 0, 1);',
      '// Date.now() is never called here; time arrives as context.now',
      "/* import pg from 'pg' */",
      "const hint = 'do not call Math.random() or import from \"pg\"';",
      'const doc = `fetch(url) and new Date() are for services/`;',
      "const quote = /['\"`]/g; const next = Date.parse('2026-01-01');",
      'const ratio = total / count / 2;',
      'const { from, to } = change; const copy = Array.from(items);',
      'const spec = { from: "pg" };',
    ].join('\n');
    assert.deepEqual(findPurityViolations(pure), []);
  });

  test('reports the line of each violation', () => {
    const source = "import { z } from 'zod';\n\nconst at = Date.now();\nimport pg from 'pg';\n";
    assert.deepEqual(
      findPurityViolations(source, 'x.ts').map((v) => `${v.file}:${v.line}`),
      ['x.ts:3', 'x.ts:4'],
    );
  });

  test('fails a folder with a planted violation', () => {
    const folder = mkdtempSync(join(tmpdir(), 'purity-'));
    try {
      writeFileSync(join(folder, 'clean.ts'), 'export const add = (a: number, b: number) => a + b;\n');
      writeFileSync(join(folder, 'planted.ts'), "import { Pool } from 'pg';\nexport const at = () => Date.now();\n");
      assert.deepEqual(
        checkFolder(folder).map((v) => v.rule),
        ["imports I/O module 'pg'", 'reads the clock: Date.now'],
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
