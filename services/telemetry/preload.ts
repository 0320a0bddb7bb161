import { currentTelemetry } from './activeTelemetry.ts';
import { startTelemetry } from './telemetrySdk.ts';

// Starts telemetry on import, before anything else loads: `ledger serve` and `ledger projections`
// import this ahead of their modules (services/cli/main.ts), and any entry point can do the same
// with `node --import tsx --import ./services/telemetry/preload.ts <entry>`.
startTelemetry();

// A command that ends by running out of work (not by process.exit) flushes its batched spans.
process.once('beforeExit', () => void currentTelemetry()?.stop());
