import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { subcommands } from '../../services/cli/main.ts';

// `ledger help` and `ledger <command> --help` print main.ts's usage lines without loading the
// command, so those lines must name the options the command's own USAGE (its usage errors) names.

const FILES: Record<string, string> = { 'audit-secrets': 'auditSecrets', webhooks: 'webhooksReplay' };

const flagsIn = (text: string): string[] => [...new Set(text.match(/--[a-z][a-z-]*/g) ?? [])].sort();

test('the usage `ledger help` shows names the options each command takes', () => {
  for (const name of Object.keys(subcommands).filter((command) => command !== 'help')) {
    const source = readFileSync(new URL(`../../services/cli/${FILES[name] ?? name}.ts`, import.meta.url), 'utf8');
    // `ledger serve` has no USAGE: it takes no options.
    const usage = /const USAGE = `((?:\\.|[^`\\])*)`/.exec(source)?.[1] ?? '';
    assert.deepEqual(flagsIn(subcommands[name]!.usage), flagsIn(usage), `ledger ${name}`);
  }
});
