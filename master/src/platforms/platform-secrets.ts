import type { SecretBox } from '../infra/crypto/secret-box.js';
import type { StepSecretResolver } from '../tasks/engine/dispatcher.js';
import type { TasksRepository } from '../tasks/tasks.repository.js';
import type { PlatformsRepository } from './platforms.repository.js';

/** The steps that read a platform's repository, and so get its deploy key. */
const READS_REPOSITORY: ReadonlySet<string> = new Set(['platform.build', 'platform.pull']);

/**
 * Resolves a platform step's deploy key when it is sent: the key of the platform being built (a
 * leap-frog's new platform, which has the old one's key), decrypted at that moment and never
 * written with the step. Nothing for a platform without a key (a public or local repository).
 */
export function platformSecretResolver(
  tasks: Pick<TasksRepository, 'findTask'>,
  platforms: Pick<PlatformsRepository, 'findByNameOrId'>,
  box: Pick<SecretBox, 'decrypt'>,
): StepSecretResolver {
  return async (attempt): Promise<Record<string, string>> => {
    if (!READS_REPOSITORY.has(attempt.name)) return {};
    const task = await tasks.findTask(attempt.taskId);
    if (task?.targetKind !== 'platform') return {};
    const newPlatformId = task.params.newPlatformId;
    const platform = await platforms.findByNameOrId(
      typeof newPlatformId === 'string' ? newPlatformId : task.targetId,
    );
    return platform?.deployKeyEncrypted ? { deployKey: box.decrypt(platform.deployKeyEncrypted) } : {};
  };
}
