// Group commit for statements that cannot conflict with each other (inbox rows, read-only
// lookups): one statement is in flight at a time, and the calls that arrive meanwhile go out
// together in the next one — one round trip (and at most one commit) for all of them. A lone
// call leaves at once, so an idle service adds no latency. `run` answers in input order; if it
// throws, every call in that statement fails with the error (nothing of it committed).
export class StatementGroup<Input, Output> {
  private readonly queue: { input: Input; resolve: (output: Output) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly run: (inputs: Input[]) => Promise<Output[]>,
    private readonly maxPerStatement = 64,
  ) {}

  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxPerStatement);
        try {
          const outputs = await this.run(batch.map((call) => call.input));
          if (outputs.length !== batch.length) throw new Error(`a grouped statement answered ${outputs.length} of ${batch.length} calls`);
          batch.forEach((call, index) => call.resolve(outputs[index]!));
        } catch (error) {
          for (const call of batch) call.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
