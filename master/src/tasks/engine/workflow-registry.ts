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
  }

  /** The version new tasks of this type start with: the highest registered. */
  currentVersion(type: TaskType): number | undefined {
    const versions = this.byType.get(type);
    return versions && versions.size > 0 ? Math.max(...versions.keys()) : undefined;
  }

  /** The version every registered type starts new tasks with. */
  currentVersions(): Map<TaskType, number> {
    const current = new Map<TaskType, number>();
    for (const type of this.byType.keys()) current.set(type, this.currentVersion(type)!);
    return current;
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
