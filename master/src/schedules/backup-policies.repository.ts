import type { DataSource } from 'typeorm';
import { BackupPolicyEntity } from './backup-policy.entity.js';
import type { PolicyScope, ScopedPolicy } from './backup-policy.js';

export type PolicyFields = Pick<
  BackupPolicyEntity,
  | 'schedule'
  | 'windowStart'
  | 'windowEnd'
  | 'keepLast'
  | 'keepDaily'
  | 'keepWeekly'
  | 'keepMonthly'
  | 'verifySchedule'
> &
  /** Left out: as it was (none for a new policy). */
  Partial<Pick<BackupPolicyEntity, 'offsiteTargetId'>>;

/** The scope key of a policy: one policy per scope (uq_backup_policies_scope). */
export function scopeKey(scope: PolicyScope, id: string | null): string {
  return scope === 'global' ? 'global' : `${scope}:${id}`;
}

export class BackupPoliciesRepository {
  constructor(private readonly db: DataSource) {}

  list(): Promise<BackupPolicyEntity[]> {
    return this.db.getRepository(BackupPolicyEntity).find({ order: { scope: 'ASC', createdAt: 'ASC' } });
  }

  /** Every policy as the rules the scheduler and the collector apply. */
  async rules(): Promise<ScopedPolicy[]> {
    return (await this.list()).map(policyRules);
  }

  find(scope: PolicyScope, id: string | null): Promise<BackupPolicyEntity | null> {
    return this.db.getRepository(BackupPolicyEntity).findOneBy({ scopeKey: scopeKey(scope, id) });
  }

  /** Creates or replaces the policy of a scope, in one statement. */
  async put(scope: PolicyScope, id: string | null, fields: PolicyFields): Promise<BackupPolicyEntity> {
    const repository = this.db.getRepository(BackupPolicyEntity);
    await repository.upsert(
      {
        scopeKey: scopeKey(scope, id),
        scope,
        clientId: scope === 'client' ? id : null,
        siteId: scope === 'site' ? id : null,
        ...fields,
        updatedAt: new Date(),
      },
      { conflictPaths: ['scopeKey'] },
    );
    const saved = await this.find(scope, id);
    if (!saved) throw new Error(`the ${scopeKey(scope, id)} backup policy vanished as it was saved`);
    return saved;
  }

  /** Removes a scope's policy; false when it had none. */
  async remove(scope: PolicyScope, id: string | null): Promise<boolean> {
    const result = await this.db.getRepository(BackupPolicyEntity).delete({ scopeKey: scopeKey(scope, id) });
    return (result.affected ?? 0) > 0;
  }
}

export function policyRules(policy: BackupPolicyEntity): ScopedPolicy {
  return {
    id: policy.id,
    scope: policy.scope,
    clientId: policy.clientId,
    siteId: policy.siteId,
    schedule: policy.schedule,
    window:
      policy.windowStart && policy.windowEnd ? { start: policy.windowStart, end: policy.windowEnd } : null,
    keep: {
      last: policy.keepLast,
      daily: policy.keepDaily,
      weekly: policy.keepWeekly,
      monthly: policy.keepMonthly,
    },
    verifySchedule: policy.verifySchedule,
  };
}
