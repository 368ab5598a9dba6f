import { TASK_TYPES, type TaskType } from '../../../../shared/src/tasks.js';
import type { WorkflowRegistration } from '../workflow.js';

/**
 * The workflows this build of the master runs, every version of each task type. A task starts
 * with the highest version of its type and keeps it: a replay after a restart (or on another
 * master) runs the version the task started with, so a release that reorders a workflow's steps
 * does not break the tasks already in flight.
 */
export class WorkflowRegistry {
  private readonly byType = new Map<TaskType, Map<number, WorkflowRegistration>>();
  /** The highest version of each type, kept as versions are registered (the engine reads it every pass). */
  private readonly current = new Map<TaskType, number>();

  constructor(registrations: Iterable<WorkflowRegistration> = []) {
    for (const registration of registrations) this.register(registration);
  }

  register(registration: WorkflowRegistration): void {
    if (!Number.isInteger(registration.version) || registration.version < 1) {
      throw new Error(`${registration.type}: a workflow version is a whole number from 1`);
    }
    let versions = this.byType.get(registration.type);
    if (!versions) {
      versions = new Map();
      this.byType.set(registration.type, versions);
    }
    if (versions.has(registration.version)) {
      throw new Error(`${registration.type} version ${registration.version} is registered twice`);
    }
    versions.set(registration.version, registration);
    this.current.set(
      registration.type,
      Math.max(registration.version, this.current.get(registration.type) ?? 0),
    );
  }

  /** The version new tasks of this type start with: the highest registered. */
  currentVersion(type: TaskType): number | undefined {
    return this.current.get(type);
  }

  /** The version every registered type starts new tasks with. */
  currentVersions(): ReadonlyMap<TaskType, number> {
    return this.current;
  }

  resolve(type: TaskType, version: number): WorkflowRegistration | undefined {
    return this.byType.get(type)?.get(version);
  }

  /** The versions of a type this master knows, for the message when a task needs another. */
  versionsOf(type: TaskType): number[] {
    return [...(this.byType.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The task types with no workflow at all: a master must not start without one for every type. */
  missingTypes(): TaskType[] {
    return TASK_TYPES.filter((type) => !this.byType.has(type));
  }
}
