import type { LedgerDatabase } from '../eventstore/database.ts';
import { onEveryAppend } from './appendSignals.ts';
import { ProjectionFailure, type BatchResult, type ProjectionRunner } from './projectionRunner.ts';

export interface ProjectorLogger {
  warn(object: Record<string, unknown>, message: string): void;
}

export interface ProjectorSettings {
  pollIntervalMs?: number | undefined;
  minIntervalMs?: number;
  // While appends keep coming, also wait this many times the last batch's duration.
  batchTimeMultiple?: number;
  logger?: ProjectorLogger;
}

export type CommitListener = (readModel: string, result: BatchResult) => void;

// Drives the runners: wakes on an append in this process, on NOTIFY from another process
// (Postgres), or on the polling fallback; backs off with jitter when a batch fails.
export class Projector {
  private stopped = true;
  private readonly wakers = new Set<() => void>();
  private wakeups = 0;
  private readonly listeners = new Set<CommitListener>();
  private loops: Promise<void>[] = [];
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly db: LedgerDatabase,
    readonly runners: ProjectionRunner<unknown>[],
    private readonly settings: ProjectorSettings = {},
  ) {}

  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.unsubscribe.push(await onEveryAppend(this.db, () => this.wakeAll()));
    this.loops = this.runners.map((runner) => this.loop(runner));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.loops);
  }

  // Applies everything visible now, then returns (tests, rebuild, `ledger projections run --once`).
  async catchUp(): Promise<void> {
    for (const runner of this.runners) {
      for (;;) {
        const result = await runner.runBatch();
        this.emit(runner, result);
        if (!result.more) break;
      }
    }
  }

  private async loop(runner: ProjectionRunner<unknown>): Promise<void> {
    let failures = 0;
    let lastStart = Number.NEGATIVE_INFINITY;
    let lastTook = 0;
    let backlog = false;
    while (!this.stopped) {
      // A wake-up soon after the last batch waits out the rest of the interval (the longer of the
      // minimum and a multiple of the last batch's duration), so the appends of a busy moment
      // share one transaction. A backlog (a full batch) is drained at once.
      const interval = Math.max(this.settings.minIntervalMs ?? 0, lastTook * (this.settings.batchTimeMultiple ?? 0));
      const spacing = lastStart + interval - performance.now();
      if (!backlog && spacing > 0) await this.sleep(spacing, false);
      if (this.stopped) break;
      lastStart = performance.now();
      // An append that commits while the batch runs may be one the batch did not read: its
      // wake-up must start another batch, not be lost until the next append or the poll.
      const wakeupsBefore = this.wakeups;
      try {
        const result = await runner.runBatch();
        lastTook = performance.now() - lastStart;
        failures = 0;
        this.emit(runner, result);
        backlog = result.more;
        if (result.more || this.wakeups !== wakeupsBefore) continue;
      } catch (error) {
        failures += 1;
        backlog = false;
        this.settings.logger?.warn({ err: error, readModel: runner.readModel.name, failures, ...failedEventOf(error) }, 'projection batch failed; backing off');
        await this.sleep(runner.backoffMs(failures), false);
        continue;
      }
      await this.sleep(this.settings.pollIntervalMs ?? 1_000, true);
    }
  }

  private emit(runner: ProjectionRunner<unknown>, result: BatchResult): void {
    if (result.applied === 0 && result.parked === 0) return;
    for (const listener of this.listeners) listener(runner.readModel.name, result);
  }

  private wakeAll(): void {
    this.wakeups += 1;
    for (const wake of [...this.wakers]) wake();
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeable) this.wakers.add(done);
    });
  }
}

// The log line names the event that failed and the delivery it came from.
const failedEventOf = (error: unknown): Record<string, string> =>
  error instanceof ProjectionFailure ? { eventId: error.event.eventId, correlationId: error.event.metadata.correlationId } : {};
