import type { SecretBox } from '../../infra/crypto/secret-box.js';
import type { StepSecretResolver } from '../../tasks/engine/dispatcher.js';
import type { TasksRepository } from '../../tasks/tasks.repository.js';
import type { SiteEdgesRepository } from './site-edges.repository.js';

/**
 * The key of a site's uploaded certificate, sent with the tls.install that puts it on a server
 * (`tlsKey`), decrypted from the registry at that moment and never written with the step.
 */
export function edgeSecretResolver(
  tasks: Pick<TasksRepository, 'findTask'>,
  edges: Pick<SiteEdgesRepository, 'upload'>,
  box: Pick<SecretBox, 'decrypt'>,
): StepSecretResolver {
  return async (attempt): Promise<Record<string, string>> => {
    if (attempt.name !== 'tls.install' || attempt.params.uploaded !== true) return {};
    const task = await tasks.findTask(attempt.taskId);
    if (task?.targetKind !== 'site') return {};
    const upload = await edges.upload(task.targetId);
    return upload ? { tlsKey: box.decrypt(upload.keyEncrypted) } : {};
  };
}
