import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { isSectionError, type Section, type SectionError } from '../status/snapshot.ts';

export interface Column {
  readonly header: string;
  /** Fixed width; without one the column is as wide as its widest cell and gives way first on a narrow terminal. */
  readonly width?: number;
}

const cellText = (cell: Cell | undefined): string => (cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text);

/** A cell's text and, optionally, its colour; the text alone must carry the meaning. */
export type Cell = string | { readonly text: string; readonly color?: string | undefined; readonly bold?: boolean };

/** Fixed-width columns; a cell longer than its column is cut with an ellipsis. */
export function Table({ columns, rows }: { readonly columns: readonly Column[]; readonly rows: readonly (readonly Cell[])[] }) {
  const boxes = columns.map((c, j) =>
    c.width === undefined ? { width: Math.max(c.header.length, ...rows.map((r) => cellText(r[j]).length)), flexShrink: 1 } : { width: c.width, flexShrink: 0 },
  );
  return (
    <Box flexDirection="column">
      <Box>
        {columns.map((c, j) => (
          <Box key={c.header} {...boxes[j]} marginRight={1}>
            <Text dimColor wrap="truncate-end">
              {c.header}
            </Text>
          </Box>
        ))}
      </Box>
      {rows.map((row, i) => (
        <Box key={i}>
          {columns.map((c, j) => {
            const cell = row[j] ?? '';
            const { text, color, bold } = typeof cell === 'string' ? { text: cell, color: undefined, bold: false } : cell;
            return (
              <Box key={c.header} {...boxes[j]} marginRight={1}>
                <Text wrap="truncate-end" {...(color ? { color } : {})} bold={bold ?? false}>
                  {text}
                </Text>
              </Box>
            );
          })}
        </Box>
      ))}
    </Box>
  );
}

/** A titled block of the screen; an errored section shows ERROR (or UNAVAILABLE) and why. */
export function SectionBlock<T>({ title, section, children }: { readonly title: string; readonly section: Section<T>; readonly children: (data: T) => ReactNode }) {
  return (
    <Box flexDirection="column" marginBottom={1}>
      <Text bold underline>
        {title}
      </Text>
      {isSectionError(section) ? <SectionErrorLine section={section} /> : children(section)}
    </Box>
  );
}

function SectionErrorLine({ section }: { readonly section: SectionError }) {
  return (
    <Text color={section.unavailable ? 'yellow' : 'red'}>
      {section.unavailable ? 'UNAVAILABLE' : 'ERROR'}: {section.error}
    </Text>
  );
}

/** Colours for the state labels; the label is always printed too. */
export function stateColor(label: string): string | undefined {
  switch (label) {
    case 'UP':
    case 'RUNNING':
    case 'SUCCEEDED':
    case 'STABLE':
    case 'PASS':
    case 'ALLOWED':
      return 'green';
    case 'DOWN':
    case 'FAILED':
    case 'FAIL':
    case 'REFUSED':
    case 'MISSING':
    case 'HIGH':
      return 'red';
    case 'ABSENT':
    case 'PAUSED':
    case 'UNASSIGNED':
    case 'RESTARTING':
    case 'STOPPED':
    case 'MEDIUM':
    case 'NOT STARTED':
    case 'EMPTY':
    case 'NO_DATA':
    case 'PREPARING_REBALANCE':
    case 'COMPLETING_REBALANCE':
      return 'yellow';
    default:
      return undefined;
  }
}

/** A label cell coloured by its meaning. */
export function label(text: string): Cell {
  return { text, color: stateColor(text), bold: true };
}
