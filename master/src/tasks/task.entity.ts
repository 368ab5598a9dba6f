import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { TaskPhase } from '../../../shared/src/api.js';
import type { TaskState, TaskTargetKind, TaskType } from '../../../shared/src/tasks.js';

// A recorded phase of a task (backup, rehearsal, read-only window, offline window ...): stored as
// JSON in `phases` and sent as is by the REST API, so its shape is the API's (shared/src/api.ts).
export type { TaskPhase };

/** One operation on a server, platform or site, made of steps. */
@Entity('tasks')
@Index('idx_tasks_queue', ['state', 'createdAt'])
// The task list, newest first by (created_at, id), unfiltered and by target (its id, or the name the
// task recorded: a site's domain, a server's name): a page is a short range of one of these. The
// list reads them backwards; a btree serves both directions, so they are ascending like the rest.
@Index('idx_tasks_created', ['createdAt', 'id'])
@Index('idx_tasks_target_created', ['targetId', 'createdAt', 'id'])
@Index('idx_tasks_target_name_created', ['targetName', 'createdAt', 'id'])
// The adoption sweep: running tasks whose owner's hold lapsed.
@Index('idx_tasks_running_owner', ['ownerExpiresAt'], { where: "state = 'running'" })
// One active task per site or platform: the lock key is "site:<id>" or "platform:<id>", and the
// database refuses a second running task with the same key.
@Index('uq_tasks_running_lock', ['lockKey'], {
  unique: true,
  where: "state = 'running' AND lock_key IS NOT NULL",
})
// A domain a task is about to give a site (a rename's new name) is spoken for until it ends: a second
// task, or a new site, cannot take it meanwhile.
@Index('uq_tasks_claimed_domain', ['claimedDomain'], {
  unique: true,
  where: "state IN ('queued', 'running') AND claimed_domain IS NOT NULL",
})
export class TaskEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('varchar', { length: 64 })
  type!: TaskType;

  @Column('varchar', { length: 16, default: 'queued' })
  state!: TaskState;

  /** "server", "platform" or "site". */
  @Column('varchar', { name: 'target_kind', length: 16 })
  targetKind!: TaskTargetKind;

  @Column('uuid', { name: 'target_id' })
  targetId!: string;

  /** A readable name of the target (server name, platform name, domain), kept for the record. */
  @Column('varchar', { name: 'target_name', length: 253 })
  targetName!: string;

  @Column('varchar', { name: 'lock_key', length: 80, nullable: true })
  lockKey!: string | null;

  /** TaskDefinitions[type]['params'], written by the feature that queued the task. */
  @Column('jsonb', { default: () => "'{}'" })
  params!: Record<string, unknown>;

  /**
   * The version of its type's workflow the task runs, set when it starts (WorkflowRegistry): a
   * replay runs the same version even after a release with a newer one. Null while queued.
   */
  @Column('int', { name: 'workflow_version', nullable: true })
  workflowVersion!: number | null;

  /** The failed or cancelled task this one starts again (`berth task retry`). */
  @Index('idx_tasks_retry_of')
  @Column('uuid', { name: 'retry_of', nullable: true })
  retryOf!: string | null;

  /** The task that queued this one (a platform upgrade's site migrates). */
  @Index('idx_tasks_parent')
  @Column('uuid', { name: 'parent_task_id', nullable: true })
  parentTaskId!: string | null;

  /** A domain this task will give a site (see uq_tasks_claimed_domain). */
  @Column('varchar', { name: 'claimed_domain', length: 253, nullable: true })
  claimedDomain!: string | null;

  @Column('jsonb', { nullable: true })
  result!: Record<string, unknown> | null;

  /** Why the task failed, for a person. */
  @Column('text', { nullable: true })
  error!: string | null;

  @Column('varchar', { name: 'error_code', length: 64, nullable: true })
  errorCode!: string | null;

  /** For a failed task: did its rollback complete? null when there was nothing to roll back. */
  @Column('boolean', { name: 'rollback_completed', nullable: true })
  rollbackCompleted!: boolean | null;

  @Column('jsonb', { default: () => "'[]'" })
  phases!: TaskPhase[];

  /** The master running the task's workflow (BERTH_MASTER_ID); another adopts it when this one is gone. */
  @Column('varchar', { name: 'runner_id', length: 64, nullable: true })
  runnerId!: string | null;

  /**
   * Bumped each time a master takes the task (start, adoption): every write of its workflow carries
   * it, so a master that lost the task (paused past its lease) cannot write for it any more.
   */
  @Column('bigint', { name: 'owner_epoch', default: 0 })
  ownerEpoch!: string;

  /** The runner's hold on the task lasts until then unless renewed; past it, any master adopts it. */
  @Column('timestamptz', { name: 'owner_expires_at', nullable: true })
  ownerExpiresAt!: Date | null;

  @Column('uuid', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('varchar', { name: 'created_by', length: 64, nullable: true })
  createdBy!: string | null;

  /**
   * 0 for what a person (or a task a person started) asked for; higher for what a schedule started:
   * queued tasks start, and their steps take a server's slots, lowest first (TASK_PRIORITY).
   */
  @Column('smallint', { default: 0 })
  priority!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  @Column('timestamptz', { name: 'cancel_requested_at', nullable: true })
  cancelRequestedAt!: Date | null;
}
