import { rolesOfServices } from '../../../../shared/src/server-roles.js';
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
    const roles = [...(context.host.roles ?? rolesOfServices(services))];
    context.note(
      `offers ${roles.join(' and ') || 'nothing to sites'}${context.host.roles ? ' (--roles)' : ''}; ` +
        `reached by the other servers at ${context.host.address}`,
    );
    return {
      hostname: context.hostname,
      address: context.host.address,
      roles,
      services,
      agentVersion: context.agentVersion,
      os,
    };
  },
};
