import type { LifecycleState } from '../../contracts/events/vocabulary.ts';

// Aligned columns for the incident commands, coloured only for a person at a terminal: a pipe,
// a file or NO_COLOR (https://no-color.org: set and not empty) gets plain text.

export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'bold';

const SGR: Record<Color, [open: number, close: number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
  bold: [1, 22],
};

export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '';
}

export function paint(text: string, color: Color | undefined, enabled: boolean): string {
  if (!enabled || color === undefined || text === '') return text;
  const [open, close] = SGR[color];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

export const LIFECYCLE_COLORS: Record<LifecycleState, Color> = {
  lead: 'blue',
  trial: 'cyan',
  active: 'green',
  past_due: 'yellow',
  canceled: 'gray',
  refunded: 'magenta',
  needs_review: 'red',
};

export interface Column<Row> {
  header: string;
  cell(row: Row): string;
  color?(row: Row): Color | undefined;
  align?: 'left' | 'right';
  // Longer cells are cut with an ellipsis, so one long summary cannot push the table apart.
  maxWidth?: number;
}

// Widths come from the plain text; colour codes are added after padding, so they never count.
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], options: { color: boolean }): string {
  const cells = rows.map((row) => columns.map((column) => clip(column.cell(row), column.maxWidth)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const last = columns.length - 1;
  const line = (values: string[], colorOf: (i: number) => Color | undefined) =>
    values
      .map((value, i) => {
        const padded = i === last && columns[i]!.align !== 'right' ? value : pad(value, widths[i]!, columns[i]!.align);
        return paint(padded, colorOf(i), options.color);
      })
      .join('  ')
      .trimEnd();
  const header = line(
    columns.map((c) => c.header),
    () => 'bold',
  );
  const body = rows.map((row, r) => line(cells[r]!, (i) => columns[i]!.color?.(row)));
  return `${[header, ...body].join('\n')}\n`;
}

// `label  value` lines with the labels aligned.
export function renderPairs(pairs: readonly [label: string, value: string, color?: Color][], options: { color: boolean }): string {
  const width = Math.max(0, ...pairs.map(([label]) => label.length));
  const lines = pairs.map(([label, value, color]) => `${paint(label.padEnd(width), 'gray', options.color)}  ${paint(clip(value, undefined), color, options.color)}`.trimEnd());
  return `${lines.join('\n')}\n`;
}

const pad = (value: string, width: number, align: Column<unknown>['align']): string => (align === 'right' ? value.padStart(width) : value.padEnd(width));

// Control characters become spaces: a name from a webhook must not be able to move the cursor
// or recolour the operator's terminal.
function clip(value: string, maxWidth: number | undefined): string {
  const flat = value.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ');
  return maxWidth !== undefined && flat.length > maxWidth ? `${flat.slice(0, Math.max(0, maxWidth - 1))}…` : flat;
}
