#!/usr/bin/env node
// `npx ledger …` / `npm exec ledger`: loads tsx's ESM hooks in this process (no child process,
// so signals reach `ledger serve` directly), then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../services/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
