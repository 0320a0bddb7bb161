// The telemetry this process started, if any. Kept apart from telemetrySdk.ts so that the app
// (GET /metrics) can reach it without loading the SDK and its exporters into every process.

export interface Telemetry {
  enabled: boolean;
  tracesExported: boolean;
  // The Prometheus text exposition of every metric, collected now.
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

let running: Telemetry | undefined;

export const currentTelemetry = (): Telemetry | undefined => running;

export function setCurrentTelemetry(telemetry: Telemetry | undefined): void {
  running = telemetry;
}
