import type { Task, WhoAmI } from '../../../../shared/src/api.js';
import { TASK_KINDS, TASK_STATES, TASK_TYPES } from '../../../../shared/src/tasks.js';
import { taskColumns } from '../columns.js';
import { Filters, FilterSelect, SearchBox } from '../filters.js';
import { keys, POLL, usePage } from '../query.js';
import { useFilters, usePager, useTitle } from '../router.js';
import { PagedTable } from '../table.js';
import { PAGE_SIZE } from './SitesPage.js';

const FILTERS = ['state', 'type', 'target', 'since'] as const;

/**
 * "Since" as the route keeps it: a span back from now, made an ISO time at each read (a link to
 * "failed in the last 24 h" still means the last 24 h tomorrow).
 */
const SINCE: Record<string, { label: string; ms: number }> = {
  '1h': { label: 'the last hour', ms: 3_600_000 },
  '24h': { label: 'the last 24 h', ms: 86_400_000 },
  '7d': { label: 'the last 7 days', ms: 7 * 86_400_000 },
};

/** A span of SINCE back from now; a time itself (a link made by hand) as it is. */
export function sinceIso(since: string, now = Date.now()): string | undefined {
  const span = SINCE[since];
  if (span) return new Date(now - span.ms).toISOString();
  return since && !Number.isNaN(Date.parse(since)) ? new Date(since).toISOString() : undefined;
}

// Debug tasks exist only on a master started with BERTH_DEBUG_TASKS; they are still listed.
const TYPES = TASK_TYPES.filter((type) => !('debug' in TASK_KINDS[type]));

/** Every task (a client's own sites'), newest first, a page of 50 at a time, filtered. */
export function TasksPage({ me }: { me: WhoAmI }) {
  useTitle('Tasks');
  const { values, set } = useFilters(FILTERS);
  const pager = usePager();
  const tasks = usePage<Task, Record<string, string | number | undefined>>(
    keys.tasks,
    '/api/tasks',
    { ...values, limit: PAGE_SIZE, cursor: pager.cursor },
    POLL.busy,
    { request: (params) => ({ ...params, since: sinceIso(values.since) }) },
  );
  return (
    <div className="tasks-page">
      <h1 id="tasks">Tasks</h1>
      <section aria-labelledby="tasks">
        <Filters label="Filter tasks">
          <FilterSelect
            label="State"
            value={values.state}
            options={TASK_STATES}
            onChange={(state) => set({ state })}
          />
          <FilterSelect label="Type" value={values.type} options={TYPES} onChange={(type) => set({ type })} />
          <SearchBox
            label="Target"
            type="text"
            value={values.target}
            placeholder="a domain or a name"
            onChange={(target) => set({ target })}
          />
          <FilterSelect
            label="Since"
            value={values.since}
            anyLabel="any time"
            options={Object.entries(SINCE).map(([value, { label }]) => ({ value, label }))}
            onChange={(since) => set({ since })}
          />
        </Filters>
        <PagedTable
          label="Tasks"
          query={tasks}
          pager={pager}
          columns={taskColumns(me.role === 'admin')}
          rowKey={(task) => task.id}
          order="Newest first"
          empty={FILTERS.some((name) => values[name]) ? 'No task matches.' : 'No tasks yet.'}
        />
      </section>
    </div>
  );
}
