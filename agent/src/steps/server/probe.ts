import { describeOs } from '../../adapters/os-info.js';
import { noParams } from '../params.js';
import type { StepHandler } from '../step.js';

/** Detects the services this server offers, afresh (the hello uses the cached detection). */
export const serverProbe: StepHandler<'server.probe'> = {
  name: 'server.probe',
  parseParams: noParams,
  async run(_params, context) {
    const [services, os] = await Promise.all([context.services.detect(), describeOs()]);
    for (const service of services) {
      context.note(
        `${service.name} ${service.version || '(version unknown)'} at ${service.path}` +
          (service.kind === 'http' || service.kind === 'db' || service.name === 'php-fpm'
            ? service.running
              ? ', running'
              : ', not running'
            : ''),
      );
    }
    if (services.length === 0) context.note('no web, database or PHP service found');
    return { hostname: context.hostname, services, agentVersion: context.agentVersion, os };
  },
};
