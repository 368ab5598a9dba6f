import { DEBUG_STEP_NAMES, type StepName } from '../../../shared/src/steps.js';
import type { Validated } from '../../../shared/src/validation.js';
import { appCron } from './app/cron.js';
import { appHook } from './app/hook.js';
import { appSanitize } from './app/sanitize.js';
import { appInstall } from './app/install.js';
import { appLoginLink } from './app/login-link.js';
import { appMaintenance } from './app/maintenance.js';
import { appPackages } from './app/packages.js';
import { appReadonly } from './app/readonly.js';
import { appStatus } from './app/status.js';
import { appUpdateStatus } from './app/update-status.js';
import { appUpdate } from './app/update.js';
import { dbCreate } from './db/create.js';
import { dbDrop, dbDropUser } from './db/drop.js';
import { dbDump } from './db/dump.js';
import { dbImport } from './db/import.js';
import { dbBinlogMark, dbRewind } from './db/rewind.js';
import { dbPutBack, dbSetAside } from './db/aside.js';
import { dbCopy, dbDropDatabase } from './db/copy.js';
import { dbSchemaVersions } from './db/schema-versions.js';
import { debugNoop } from './debug/noop.js';
import { debugSleep } from './debug/sleep.js';
import { linkTransferCheck } from './link/transfer-check.js';
import { httpRemoveVhost } from './http/remove-vhost.js';
import { httpListVhosts } from './http/list-vhosts.js';
import { tlsInstall, tlsPutChallenge, tlsRemove, tlsRemoveChallenge, tlsRequest } from './tls/tls.js';
import { httpCommitVhost, httpDiscardVhost, httpPrepareVhost } from './http/switch-vhost.js';
import { httpWriteVhost } from './http/write-vhost.js';
import { phpRemovePool } from './php/remove-pool.js';
import { phpWritePool } from './php/write-pool.js';
import { platformBuild, platformCommits, platformPull, platformRemove } from './platform/build.js';
import { platformArchive, platformExtract } from './platform/copy.js';
import { platformScan } from './platform/scan.js';
import { probeHttp } from './probe/http.js';
import { probeTcp } from './probe/tcp.js';
import { serverProbe } from './server/probe.js';
import { sitesMarker } from './server/sites-marker.js';
import { siteAbsent } from './site/absent.js';
import { siteArchive } from './site/archive.js';
import { siteDropAside, sitePutBack } from './site/aside.js';
import { siteCopy } from './site/copy.js';
import { siteExtract } from './site/extract.js';
import { siteLink, siteUnlink } from './site/link.js';
import { siteRemove } from './site/remove.js';
import { siteWriteSettings } from './site/write-settings.js';
import type { StepContext, StepHandler } from './step.js';
import { siteCodeCheckout, siteCodeFetch, siteCodeInit } from './site/code.js';

/** A step with its parameters checked, ready to run. */
export type PreparedStep = (context: StepContext) => Promise<unknown>;

export interface RegisteredStep {
  readonly name: StepName;
  prepare(params: unknown): Validated<PreparedStep>;
}

function register<S extends StepName>(handler: StepHandler<S>): RegisteredStep {
  return {
    name: handler.name,
    prepare(params) {
      const parsed = handler.parseParams(params);
      if (!parsed.ok) return parsed;
      return { ok: true, value: (context) => handler.run(parsed.value, context) };
    },
  };
}

const ALL_STEPS: readonly RegisteredStep[] = [
  register(serverProbe),
  register(sitesMarker),
  register(siteAbsent),
  register(linkTransferCheck),
  register(debugNoop),
  register(debugSleep),
  register(dbCreate),
  register(dbDrop),
  register(dbDropUser),
  register(dbDump),
  register(dbImport),
  register(dbBinlogMark),
  register(dbRewind),
  register(dbCopy),
  register(dbDropDatabase),
  register(dbSetAside),
  register(dbPutBack),
  register(dbSchemaVersions),
  register(siteWriteSettings),
  register(siteLink),
  register(siteUnlink),
  register(siteArchive),
  register(siteExtract),
  register(siteCopy),
  register(sitePutBack),
  register(siteDropAside),
  register(siteRemove),
  register(platformScan),
  register(platformArchive),
  register(platformExtract),
  register(platformBuild),
  register(platformPull),
  register(platformCommits),
  register(platformRemove),
  register(siteCodeInit),
  register(siteCodeFetch),
  register(siteCodeCheckout),
  register(httpWriteVhost),
  register(httpRemoveVhost),
  register(httpPrepareVhost),
  register(httpCommitVhost),
  register(httpDiscardVhost),
  register(httpListVhosts),
  register(phpWritePool),
  register(phpRemovePool),
  register(tlsRequest),
  register(tlsPutChallenge),
  register(tlsRemoveChallenge),
  register(tlsInstall),
  register(tlsRemove),
  register(probeHttp),
  register(probeTcp),
  register(appInstall),
  register(appUpdate),
  register(appUpdateStatus),
  register(appMaintenance),
  register(appReadonly),
  register(appLoginLink),
  register(appStatus),
  register(appCron),
  register(appHook),
  register(appSanitize),
  register(appPackages),
];

/** The steps this agent runs: the vocabulary, without the debug steps unless they are enabled. */
export class StepRegistry {
  private readonly steps: ReadonlyMap<string, RegisteredStep>;

  constructor(options: { debugSteps: boolean }) {
    this.steps = new Map(
      ALL_STEPS.filter((step) => options.debugSteps || !DEBUG_STEP_NAMES.includes(step.name)).map((step) => [
        step.name,
        step,
      ]),
    );
  }

  get(name: string): RegisteredStep | undefined {
    return this.steps.get(name);
  }

  names(): string[] {
    return [...this.steps.keys()];
  }
}
