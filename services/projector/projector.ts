import type { LedgerDatabase } from '../eventstore/database.ts';
import { onEveryAppend } from './appendSignals.ts';
import { untilOlderTransactionsEnd } from './commitHorizon.ts';
import { runTogether, type BatchOutcome } from './projectionCycle.ts';
import { ProjectionFailure, SharedStateConflict } from './projectionErrors.ts';
import type { BatchResult, ProjectionRunner } from './projectionRunner.ts';

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

const CATCH_UP_FENCE_WAIT_MS = 10_000;

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
    this.loops = this.runners.length > 0 ? [this.loop()] : [];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.loops);
  }

  // Applies everything committed before the call, then returns (tests, rebuild, `ledger
  // projections run --once`). An event that a still-open older transaction holds back (the xmin
  // fence, commitHorizon.ts) is waited for, up to 10 s; past that, what is visible is applied.
  // An event that fails to apply is retried with backoff as the running projector retries it,
  // until it is parked and the rest flows: thrown at its first failure, a `--once` run stopped
  // there every time and never parked it, holding every later event back. Anything else (the
  // store failing) fails the call.
  async catchUp(): Promise<void> {
    await untilOlderTransactionsEnd(this.db.sql, CATCH_UP_FENCE_WAIT_MS);
    const failures = new Map<ProjectionRunner<unknown>, number>();
    for (;;) {
      const outcomes = await this.batch(this.runners);
      let more = false;
      let backoff = 0;
      for (const outcome of outcomes) {
        const { runner } = outcome;
        if ('error' in outcome) {
          if (!(outcome.error instanceof ProjectionFailure || outcome.error instanceof SharedStateConflict)) throw outcome.error;
          const failed = (failures.get(runner) ?? 0) + 1;
          failures.set(runner, failed);
          this.warnFailed(runner, failed, outcome.error);
          backoff = Math.max(backoff, runner.backoffMs(failed));
          more = true;
          continue;
        }
        failures.delete(runner);
        this.emit(runner, outcome.result);
        more ||= outcome.result.more;
      }
      if (!more) break;
      if (backoff > 0) await this.sleep(backoff, false);
    }
  }

  // The read models' batches run together (projectionCycle.ts); one alone runs its own.
  private batch(runners: ProjectionRunner<unknown>[]): Promise<BatchOutcome[]> {
    const [only] = runners;
    if (only === undefined) return Promise.resolve([]);
    if (runners.length > 1) return runTogether(this.db.sql, runners);
    return only.runBatch().then(
      (result) => [{ runner: only, result }],
      (error: unknown) => [{ runner: only, error }],
    );
  }

  private async loop(): Promise<void> {
    // A read model whose batch failed backs off alone: the others keep running without it.
    const failures = new Map<ProjectionRunner<unknown>, number>();
    const resumeAt = new Map<ProjectionRunner<unknown>, number>();
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
      const due = this.runners.filter((runner) => (resumeAt.get(runner) ?? 0) <= performance.now());
      if (due.length === 0) {
        await this.sleep(Math.min(...resumeAt.values()) - performance.now(), false);
        continue;
      }
      lastStart = performance.now();
      // An append that commits while the batch runs may be one the batch did not read: its
      // wake-up must start another batch, not be lost until the next append or the poll.
      const wakeupsBefore = this.wakeups;
      const outcomes = await this.batch(due);
      lastTook = performance.now() - lastStart;
      backlog = false;
      for (const outcome of outcomes) {
        const { runner } = outcome;
        if ('error' in outcome) {
          const failed = (failures.get(runner) ?? 0) + 1;
          failures.set(runner, failed);
          resumeAt.set(runner, performance.now() + runner.backoffMs(failed));
          this.warnFailed(runner, failed, outcome.error);
          continue;
        }
        failures.delete(runner);
        resumeAt.delete(runner);
        this.emit(runner, outcome.result);
        backlog ||= outcome.result.more;
      }
      if (backlog || (this.wakeups !== wakeupsBefore && resumeAt.size < this.runners.length)) continue;
      const untilResume = resumeAt.size > 0 ? Math.min(...resumeAt.values()) - performance.now() : Number.POSITIVE_INFINITY;
      await this.sleep(Math.max(0, Math.min(this.settings.pollIntervalMs ?? 1_000, untilResume)), true);
    }
  }

  private warnFailed(runner: ProjectionRunner<unknown>, failures: number, error: unknown): void {
    this.settings.logger?.warn({ err: error, readModel: runner.readModel.name, failures, ...failedEventOf(error) }, 'projection batch failed; backing off');
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
