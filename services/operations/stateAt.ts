import type { PointInTime } from '../../contracts/api/adminApi.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { evolve, initialState, type CustomerState } from '../../domain/customerState.ts';
import { LedgerError } from '../../domain/errors.ts';
import type { ProjectedEvent, ReadModel } from '../../projections/projection.ts';
import { readModels, type ReadModelOptions } from '../../projections/readModels.ts';
import { readRecorded } from './readableEvent.ts';

// Time travel: the customer as of a stream version or a recorded time, by folding that prefix
// of the stream, and the three read models run by their pure functions over the same prefix —
// no read-model table is consulted, so a view can be checked against what the tables hold.

export type StateSummary = Omit<CustomerState, 'watermarks'>;

export interface StateAt {
  customerId: string;
  requested: string | null;
  asOf: { version: number; position: string; recordedAt: string; occurredAt: string };
  // Versions this build cannot read (schema mismatch): left out of the fold, as a projector parks them.
  unreadable: number[];
  state: StateSummary;
  views: { crm: unknown; support: unknown; app: unknown };
}

export function prefixAt(events: readonly RecordedEvent[], at: PointInTime | undefined): RecordedEvent[] {
  if (at === undefined) return [...events];
  if (at.kind === 'version') {
    const head = events.at(-1)?.version ?? 0;
    if (at.version > head) throw new LedgerError('LEDGER_NOT_FOUND', `The stream has no version ${at.version}; it is at ${head}`);
    return events.filter((event) => event.version <= at.version);
  }
  // Recorded time, not the source's: "what did the ledger know then" is what an incident asks.
  const cutoff = Date.parse(at.at);
  return events.filter((event) => Date.parse(event.recordedAt) <= cutoff);
}

export function stateAt(customerId: string, events: readonly RecordedEvent[], at: PointInTime | undefined, options: ReadModelOptions): StateAt {
  const prefix = prefixAt(events, at);
  const last = prefix.at(-1);
  if (last === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'The customer had no events yet at that time');

  const inputs: ProjectedEvent[] = [];
  const unreadable: number[] = [];
  let state = initialState;
  for (const recorded of prefix) {
    const reading = readRecorded(recorded);
    if (!reading.readable) {
      unreadable.push(recorded.version);
      continue;
    }
    const { event } = reading;
    const before = state;
    state = evolve(state, event);
    inputs.push({
      event,
      eventId: recorded.eventId,
      customerId,
      position: recorded.position.toString(),
      streamVersion: recorded.version,
      occurredAt: recorded.metadata.occurredAt,
      recordedAt: recorded.recordedAt,
      correlationId: recorded.metadata.correlationId,
      before,
      after: state,
    });
  }
  const { watermarks: _internal, ...summary } = state;
  return {
    customerId,
    requested: at === undefined ? null : at.kind === 'version' ? String(at.version) : at.at,
    asOf: { version: last.version, position: last.position.toString(), recordedAt: last.recordedAt, occurredAt: last.metadata.occurredAt },
    unreadable,
    state: summary,
    views: {
      crm: viewOf(readModels.crm, options.crm, inputs),
      support: viewOf(readModels.support, options.support, inputs),
      app: viewOf(readModels.app, options.app, inputs),
    },
  };
}

// `shared` starts empty: a CRM owner picked by round-robin across customers may differ from the
// live table's, which saw the other customers too.
function viewOf<Doc, Shared, Options>(model: ReadModel<Doc, Shared, Options>, options: Options, inputs: ProjectedEvent[]): Doc | null {
  let doc: Doc | undefined;
  let shared = model.initialShared;
  for (const input of inputs) ({ doc, shared } = model.apply(doc, input, { options, shared }));
  return doc ?? null;
}
