import type * as api from '../../../shared/src/api.js';
import type { BackupPolicyEntity } from './backup-policy.entity.js';
import {
  checkKeep,
  checkSchedule,
  checkWindow,
  effectivePolicy,
  nextDue,
  type PolicyScope,
} from './backup-policy.js';
import {
  policyRules,
  type BackupPoliciesRepository,
  type PolicyFields,
} from './backup-policies.repository.js';
import type { FiringRow, FiringsRepository } from './firings.repository.js';
import { SchedulesError, SchedulesErrorCode } from './schedules.errors.js';

/** What a policy's target is looked up by (the sites' and clients' registries). */
export interface PolicyTargets {
  site(domainOrId: string): Promise<{ id: string; domain: string; clientId: string | null } | null>;
  client(nameOrId: string): Promise<{ id: string; name: string } | null>;
}

/** The off-site targets a policy may name (OffsiteService): by name in, by name out. */
export interface PolicyOffsiteTargets {
  /** The target's id; throws the API's 404 for a name that is none. */
  idOf(name: string): Promise<string>;
  nameOf(id: string): Promise<string | null>;
}

/** A new policy's retention: the newest 7, like Aegir's backup manager's default week. */
const DEFAULT_FIELDS: PolicyFields = {
  schedule: null,
  windowStart: null,
  windowEnd: null,
  keepLast: 7,
  keepDaily: 0,
  keepWeekly: 0,
  keepMonthly: 0,
  verifySchedule: null,
  offsiteTargetId: null,
};

const KEEP_FIELDS = [
  ['keepLast', 'keepLast'],
  ['keepDaily', 'keepDaily'],
  ['keepWeekly', 'keepWeekly'],
  ['keepMonthly', 'keepMonthly'],
] as const;

/** Backup policies: set, listed, removed, and what applies to a site (REST, CLI, web UI). */
export class BackupPoliciesService {
  constructor(
    private readonly policies: BackupPoliciesRepository,
    private readonly targets: PolicyTargets,
    private readonly firings: Pick<FiringsRepository, 'siteSchedule' | 'latest'>,
    private readonly offsite: PolicyOffsiteTargets,
  ) {}

  async list(): Promise<api.BackupPolicy[]> {
    return Promise.all((await this.policies.list()).map((policy) => this.view(policy)));
  }

  async get(scope: PolicyScope, target: string | null): Promise<api.BackupPolicy> {
    const id = await this.targetId(scope, target);
    const policy = await this.policies.find(scope, id);
    if (!policy) {
      throw new SchedulesError(
        SchedulesErrorCode.NotFound,
        `${describe(scope, target)} has no backup policy of its own`,
      );
    }
    return this.view(policy);
  }

  /** Sets a scope's policy: what the input leaves out stays as it was (or the default). */
  async put(scope: PolicyScope, target: string | null, input: unknown): Promise<api.BackupPolicy> {
    const id = await this.targetId(scope, target);
    const existing = await this.policies.find(scope, id);
    const fields = checkInput(input, existing ?? DEFAULT_FIELDS);
    const offsite = (input as { offsite?: unknown }).offsite;
    if (offsite !== undefined) {
      if (offsite !== null && typeof offsite !== 'string')
        throw invalid("offsite must be a target's name, or null");
      fields.offsiteTargetId = offsite === null ? null : await this.offsite.idOf(offsite);
    }
    return this.view(await this.policies.put(scope, id, fields));
  }

  async remove(scope: PolicyScope, target: string | null): Promise<void> {
    const id = await this.targetId(scope, target);
    if (!(await this.policies.remove(scope, id))) {
      throw new SchedulesError(
        SchedulesErrorCode.NotFound,
        `${describe(scope, target)} has no backup policy of its own`,
      );
    }
  }

  /** The policy that applies to a site, where it comes from, and when it next runs. */
  async forSite(domain: string, now = new Date()): Promise<api.SiteBackupSchedule> {
    const site = await this.targets.site(domain);
    if (!site) throw siteNotFound(domain);
    const [all, schedule, latest] = await Promise.all([
      this.policies.list(),
      this.firings.siteSchedule(site.id),
      this.firings.latest('backup', [site.id]),
    ]);
    const timeZone = schedule?.timeZone ?? 'UTC';
    const policy = effectivePolicy(
      all.map((entity) => ({ ...policyRules(entity), entity })),
      site,
    );
    const next = policy ? nextDue(policy, timeZone, now) : null;
    return {
      domain: site.domain,
      policy: policy ? await this.view(policy.entity) : null,
      timeZone,
      nextDueAt: next?.toISOString() ?? null,
      lastFiring: firingView(latest.get(site.id)),
    };
  }

  private async targetId(scope: PolicyScope, target: string | null): Promise<string | null> {
    if (scope === 'global') return null;
    if (!target) throw new SchedulesError(SchedulesErrorCode.InvalidInput, `name the ${scope}`);
    if (scope === 'site') {
      const site = await this.targets.site(target);
      if (!site) throw siteNotFound(target);
      return site.id;
    }
    const client = await this.targets.client(target);
    if (!client) {
      throw new SchedulesError(
        SchedulesErrorCode.TargetNotFound,
        `no client named "${target}"; \`berth client list\` shows them`,
      );
    }
    return client.id;
  }

  private async view(policy: BackupPolicyEntity): Promise<api.BackupPolicy> {
    const rules = policyRules(policy);
    let target: string | null = null;
    if (policy.siteId) target = (await this.targets.site(policy.siteId))?.domain ?? policy.siteId;
    if (policy.clientId) target = (await this.targets.client(policy.clientId))?.name ?? policy.clientId;
    return {
      id: policy.id,
      scope: policy.scope,
      target,
      schedule: rules.schedule,
      window: rules.window,
      keep: rules.keep,
      verifySchedule: rules.verifySchedule,
      offsite: policy.offsiteTargetId ? await this.offsite.nameOf(policy.offsiteTargetId) : null,
      updatedAt: policy.updatedAt.toISOString(),
    };
  }
}

export function firingView(firing: FiringRow | undefined): api.ScheduleFiring | null {
  if (!firing) return null;
  return {
    dueAt: new Date(firing.dueAt).toISOString(),
    opensAt: new Date(firing.opensAt).toISOString(),
    expiresAt: new Date(firing.expiresAt).toISOString(),
    state: firing.state,
    taskId: firing.taskId,
  };
}

/** Checks a policy's input against what it replaces; every problem is a 400 with what to write. */
function checkInput(input: unknown, base: PolicyFields): PolicyFields {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(
      'the body must be a JSON object: { schedule, window, keepLast, keepDaily, keepWeekly, keepMonthly, verifySchedule, offsite }',
    );
  }
  const body = input as Record<string, unknown>;
  const known = new Set([
    'schedule',
    'window',
    'verifySchedule',
    'offsite',
    ...KEEP_FIELDS.map(([name]) => name),
  ]);
  const unknown = Object.keys(body).filter((key) => !known.has(key));
  if (unknown.length > 0) throw invalid(`unknown field ${unknown.join(', ')}`);
  const fields: PolicyFields = { ...base };
  if ('schedule' in body) {
    if (body.schedule === null) fields.schedule = null;
    else {
      const schedule = checkSchedule(body.schedule);
      if (!schedule.ok) throw invalid(schedule.message);
      fields.schedule = schedule.value;
    }
  }
  if ('verifySchedule' in body) {
    if (body.verifySchedule === null) fields.verifySchedule = null;
    else {
      const schedule = checkSchedule(body.verifySchedule);
      if (!schedule.ok) throw invalid(`verifySchedule: ${schedule.message}`);
      fields.verifySchedule = schedule.value;
    }
  }
  if ('window' in body) {
    if (body.window === null) {
      fields.windowStart = null;
      fields.windowEnd = null;
    } else {
      const window = checkWindow(body.window);
      if (!window.ok) throw invalid(window.message);
      fields.windowStart = window.value.start;
      fields.windowEnd = window.value.end;
    }
  }
  for (const [name, field] of KEEP_FIELDS) {
    if (!(name in body)) continue;
    const keep = checkKeep(name, body[name]);
    if (!keep.ok) throw invalid(keep.message);
    fields[field] = keep.value;
  }
  if (fields.keepLast < 1) throw invalid('keepLast must be at least 1: the newest backup is always kept');
  return fields;
}

function invalid(message: string): SchedulesError {
  return new SchedulesError(SchedulesErrorCode.InvalidInput, message);
}

function siteNotFound(domain: string): SchedulesError {
  return new SchedulesError(
    SchedulesErrorCode.TargetNotFound,
    `no site "${domain}"; \`berth site list\` shows them`,
  );
}

function describe(scope: PolicyScope, target: string | null): string {
  return scope === 'global' ? 'the global default' : `${scope} ${target}`;
}
