import { useId, useRef, useState, type ReactNode } from 'react';
import type { Page } from '../../../shared/src/api.js';
import type { Pager } from './router.js';
import { Problem } from './util.js';

export interface Column<T> {
  /** The header's words, and the name of its sort button. */
  header: string;
  cell: (row: T) => ReactNode;
  /** What the column sorts by; a column without it does not sort. */
  sortBy?: (row: T) => string | number | null;
}

type Direction = 'ascending' | 'descending';

function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  // Empty cells last either way round.
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/**
 * A table whose sortable headers are buttons (aria-sort on their header cell). The API orders its
 * lists (by name, tasks newest first) and sorts no other way, so a header sorts the rows shown, the
 * page, never the whole list: the note under it and each button's title say so. A third press puts the
 * API's order back. Wide tables scroll in their own box, not the page.
 */
export function DataTable<T>(props: {
  label: string;
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T) => string;
  /** The API's order of the list, said under it ("In domain order", "Newest first"). */
  order?: string;
  rowClass?: (row: T) => string | undefined;
  /** The rows shown are the previous page's, the next is on its way. */
  busy?: boolean;
}) {
  const [sort, setSort] = useState<{ column: number; direction: Direction } | null>(null);
  const sortable = props.columns.some((column) => column.sortBy);
  const sortColumn = sort ? props.columns[sort.column] : undefined;
  const rows =
    sort && sortColumn?.sortBy
      ? [...props.rows].sort((a, b) => {
          const order = compare(sortColumn.sortBy!(a), sortColumn.sortBy!(b));
          return sort.direction === 'ascending' ? order : -order;
        })
      : props.rows;
  const press = (column: number) =>
    setSort((current) =>
      current?.column !== column
        ? { column, direction: 'ascending' }
        : current.direction === 'ascending'
          ? { column, direction: 'descending' }
          : null,
    );
  const note = useId();
  return (
    <>
      <div className="table-scroll">
        <table
          aria-label={props.label}
          aria-describedby={sortable ? note : undefined}
          aria-busy={props.busy || undefined}
        >
          <thead>
            <tr>
              {props.columns.map((column, index) => {
                const direction = sort?.column === index ? sort.direction : undefined;
                return (
                  <th
                    key={column.header || index}
                    scope="col"
                    aria-sort={column.sortBy ? (direction ?? 'none') : undefined}
                  >
                    {column.sortBy ? (
                      <button
                        type="button"
                        className="sort"
                        title="Sorts the rows of this page only"
                        onClick={() => press(index)}
                      >
                        {column.header}
                        <span aria-hidden="true" className="sort-mark">
                          {direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ' ↕'}
                        </span>
                      </button>
                    ) : (
                      column.header
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={props.rowKey(row)} className={props.rowClass?.(row)}>
                {props.columns.map((column, index) => (
                  <td key={column.header || index}>{column.cell(row)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {/* Outside the table: a caption would scroll away with a wide table on a phone. */}
      {sortable && (
        <p id={note} className="hint table-note">
          {props.order ? `${props.order}. ` : ''}A column&apos;s header sorts this page only.
        </p>
      )}
    </>
  );
}

/** Previous and Next of a paged list, with the page's number when it is known. */
export function PagerNav({
  pager,
  next,
  label,
}: {
  pager: Pager;
  next: string | null | undefined;
  label: string;
}) {
  if (!pager.hasPrevious && !next) return null;
  return (
    <nav className="pager" aria-label={`Pages of ${label.toLowerCase()}`}>
      <button type="button" disabled={!pager.hasPrevious} onClick={pager.previous}>
        Previous
      </button>
      <span className="summary" aria-live="polite">
        {pager.number === null ? 'a later page' : `page ${pager.number}`}
      </span>
      <button type="button" disabled={!next} onClick={() => next && pager.next(next)}>
        Next
      </button>
    </nav>
  );
}

/**
 * A page of a list from the API: its table, Previous and Next, what to say when it is empty, and
 * its error. The rows of the previous page stay while the next loads.
 */
export function PagedTable<T>(props: {
  label: string;
  query: { data: Page<T> | undefined; error: unknown; isPlaceholderData: boolean };
  pager: Pager;
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T) => string;
  order: string;
  empty: ReactNode;
  rowClass?: (row: T) => string | undefined;
}) {
  const { data, error, isPlaceholderData } = props.query;
  const top = useRef<HTMLDivElement>(null);
  // Next at the foot of a long page shows the new page from its head, not its foot.
  const showTop = () => {
    const box = top.current;
    if (box && box.getBoundingClientRect().top < 0) box.scrollIntoView({ block: 'start' });
  };
  const pager: Pager = {
    ...props.pager,
    next: (cursor) => {
      props.pager.next(cursor);
      showTop();
    },
    previous: () => {
      props.pager.previous();
      showTop();
    },
  };
  return (
    <div ref={top} className="paged">
      <Problem message={error instanceof Error ? error.message : undefined} />
      {!data && !error && <p className="loading">Loading…</p>}
      {data && data.items.length > 0 && (
        <DataTable
          label={props.label}
          rows={data.items}
          columns={props.columns}
          rowKey={props.rowKey}
          order={props.order}
          rowClass={props.rowClass}
          busy={isPlaceholderData}
        />
      )}
      {data?.items.length === 0 && <p className="empty">{props.empty}</p>}
      <PagerNav pager={pager} next={isPlaceholderData ? null : data?.next} label={props.label} />
    </div>
  );
}
