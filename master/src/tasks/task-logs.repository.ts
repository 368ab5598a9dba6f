import type { DataSource } from 'typeorm';
import type { LogLine } from '../../../shared/src/api.js';
import { sqlRows, type SqlExecutor } from '../infra/db/sql.js';
import { fencedTransaction, type TaskFence } from './task-fence.js';

export interface LogLineInput {
  stepId: string | null;
  attemptId: string | null;
  /** The agent's number for the line within its attempt; null for the master's own lines. */
  seq: string | null;
  stream: string;
  text: string;
  at: Date;
}

interface LogRow {
  id: string;
  stepId: string | null;
  stream: string;
  text: string;
  at: Date | string;
}

const COLUMNS = `id::text AS id, step_id AS "stepId", stream, text, at`;

/** Tasks' log lines, stored and read back as the API sends them (shared/src/api.ts LogLine). */
export class TaskLogsRepository {
  constructor(private readonly db: DataSource) {}

  /** Stores lines; a line resent after a reconnect (same attempt and number) is dropped. */
  async append(
    taskId: string,
    lines: readonly LogLineInput[],
    executor: SqlExecutor = this.db,
  ): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const values: unknown[] = [];
    const tuples = lines.map((line, index) => {
      const base = index * 7;
      values.push(taskId, line.stepId, line.attemptId, line.seq, line.stream, line.text, line.at);
      return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}::bigint, $${base + 5}, $${base + 6}, $${base + 7})`;
    });
    const rows = await sqlRows<LogRow>(
      executor,
      `INSERT INTO task_logs (task_id, step_id, attempt_id, seq, stream, text, at)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (attempt_id, seq) WHERE attempt_id IS NOT NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      values,
    );
    return rows.map(toLogLine);
  }

  /** A line from the master itself; with a fence, only while the task is still this master's. */
  async appendMaster(taskId: string, text: string, fence?: TaskFence): Promise<LogLine | undefined> {
    const line = { stepId: null, attemptId: null, seq: null, stream: 'master', text, at: new Date() };
    if (!fence) return (await this.append(taskId, [line]))[0];
    return fencedTransaction(
      this.db,
      fence,
      async (manager) => (await this.append(taskId, [line], manager))[0],
    );
  }

  /** The lines after the cursor `afterId`, oldest first. */
  async page(taskId: string, afterId: string, limit: number): Promise<LogLine[]> {
    const rows = await sqlRows<LogRow>(
      this.db,
      `SELECT ${COLUMNS} FROM task_logs WHERE task_id = $1 AND id > $2::bigint ORDER BY id LIMIT $3`,
      [taskId, afterId, limit],
    );
    return rows.map(toLogLine);
  }
}

function toLogLine(row: LogRow): LogLine {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    stream: row.stream,
    text: row.text,
    stepId: row.stepId,
  };
}
