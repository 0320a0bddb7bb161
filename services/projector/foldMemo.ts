import { parseDomainEvent, type DomainEvent } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { evolve, type CustomerState } from '../../domain/customerState.ts';
import type { SqlClient } from '../eventstore/sqlClient.ts';
import { LruMap } from '../lruMap.ts';
import { basisLiteralOf } from './readModelRows.ts';
import { onePer } from '../onePer.ts';

export interface Folded {
  event: DomainEvent;
  before: CustomerState;
  after: CustomerState;
  // `after` as a row's write carries its basis (a JSON string of the JSON text, readModelRows.ts),
  // serialised once for every read model that writes it.
  afterLiteral?: string;
}

// The read models' runners in one process fold the same events: each parsed the event, evolved
// the customer state and serialised it (the basis every read-model row stores), three times
// over, and parsed each row's stored basis back before its next event. The memo keeps the
// recent folds by event position, shared by the runners of one database: a position names one
// event of one customer, and its fold from a given `before` never changes, so the second and
// third runner reuse the first one's work, and a row's basis at a memoised position is that
// fold's result (no parse). Bounded; what was used recently is kept (lruMap.ts).
export class FoldMemo {
  private readonly byPosition: LruMap<string, Folded>;

  // A few batches: the runners of one process stay within a batch or two of one another, and
  // each entry holds a customer state (a long history makes that kilobytes).
  constructor(max = 4_096) {
    this.byPosition = new LruMap(max);
  }

  // The state after the event at `position`, if it was folded recently.
  afterAt(position: string): CustomerState | undefined {
    return this.byPosition.get(position)?.after;
  }

  fold(event: RecordedEvent, before: CustomerState): Folded {
    const key = event.position.toString();
    const known = this.byPosition.get(key);
    if (known?.before === before) return known;
    const folded = known ? foldParsed(known.event, before) : foldOnce(event, before);
    this.byPosition.set(key, folded);
    return folded;
  }
}

const foldParsed = (event: DomainEvent, before: CustomerState): Folded => ({ event, before, after: evolve(before, event) });

export const foldOnce = (event: RecordedEvent, before: CustomerState): Folded =>
  foldParsed(parseDomainEvent(event.type, event.schemaVersion, event.data), before);

export const afterLiteralOf = (folded: Folded): string => (folded.afterLiteral ??= basisLiteralOf(folded.after));

export const foldMemoOf = onePer((_sql: SqlClient) => new FoldMemo());
