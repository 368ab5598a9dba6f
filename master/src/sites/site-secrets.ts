import type { SecretBox } from '../infra/crypto/secret-box.js';
import type { StepSecretResolver } from '../tasks/task-engine.js';
import type { TasksRepository } from '../tasks/tasks.repository.js';
import type { SitesRepository } from './sites.repository.js';

/** The steps that are sent their site's database password (see StepDefinitions' `secrets`). */
const NEEDS_DATABASE_PASSWORD: ReadonlySet<string> = new Set(['db.create', 'site.write-settings']);

/**
 * Resolves a step's secrets when it is sent: the password of the site its task targets, decrypted
 * from the registry at that moment and never written with the step.
 */
export function siteSecretResolver(
  tasks: TasksRepository,
  sites: SitesRepository,
  box: SecretBox,
): StepSecretResolver {
  return async (attempt): Promise<Record<string, string>> => {
    if (!NEEDS_DATABASE_PASSWORD.has(attempt.name)) return {};
    const task = await tasks.findTask(attempt.taskId);
    if (task?.targetKind !== 'site') return {};
    const site = await sites.findById(task.targetId);
    return site ? { dbPassword: box.decrypt(site.dbPasswordEncrypted) } : {};
  };
}
