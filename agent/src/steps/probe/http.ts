import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { ValidationError } from '../../../../shared/src/validation.js';
import { httpGet } from '../../adapters/http-probe.js';
import { integerValue, listValue, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';

const EXCERPT_CHARS = 500;
const MAX_BODY_BYTES = 256 * 1024;

function pathValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^\/[\x21-\x7e]{0,2047}$/.test(value)) {
    throw new ValidationError({
      field,
      message: `${field} must start with "/" and hold printable ASCII without spaces (at most 2048 characters)`,
    });
  }
  return value;
}

function textValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new ValidationError({ field, message: `${field} must be text of 1 to 1024 characters` });
  }
  return value;
}

/** The port of an HTTPS listen (`443`, `127.0.0.1:8443`, `[::1]:443`). */
function httpsPort(listen: string): number {
  return Number(/(\d+)$/.exec(listen)![1]);
}

/**
 * GETs a page of a site through this server's nginx (127.0.0.1, or the address of --http-port,
 * with the site's Host header) and checks the status and, when asked, a text in the body.
 */
export const probeHttp: StepHandler<'probe.http'> = {
  name: 'probe.http',
  parseParams: (input) =>
    parseWith(input, ['domain'], ['path', 'expectStatus', 'expectText', 'timeoutMs'], (params) => ({
      domain: domainValue('domain', params.domain),
      ...(params.path !== undefined ? { path: pathValue('path', params.path) } : {}),
      ...(params.expectStatus !== undefined
        ? {
            expectStatus: listValue('expectStatus', params.expectStatus, 20, (field, item) =>
              integerValue(field, item, 100, 599),
            ),
          }
        : {}),
      ...(params.expectText !== undefined ? { expectText: textValue('expectText', params.expectText) } : {}),
      ...(params.timeoutMs !== undefined
        ? { timeoutMs: integerValue('timeoutMs', params.timeoutMs, 100, 120_000) }
        : {}),
    })),
  async run({ domain, path = '/', expectStatus = [200], expectText, timeoutMs = 10_000 }, context) {
    const url = `http://${domain}${path}`;
    let answer;
    try {
      answer = await httpGet({
        address: context.host.httpProbeAddress,
        port: context.host.httpPort,
        hostHeader: domain,
        path,
        timeoutMs,
        maxBodyBytes: MAX_BODY_BYTES,
        signal: context.signal,
      });
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      throw new StepError({
        code: StepErrorCode.ProbeFailed,
        message: `GET ${url} through ${context.host.httpProbeAddress}:${context.host.httpPort} failed: ${(error as Error).message}`,
        retryable: true,
      });
    }
    // A site whose plain HTTP goes to HTTPS (site https --redirect) is probed where it sends to.
    if (
      (answer.status === 301 || answer.status === 308) &&
      !expectStatus.includes(answer.status) &&
      answer.location === `https://${domain}${path}`
    ) {
      const port = httpsPort(context.host.httpsListen);
      try {
        answer = await httpGet({
          address: context.host.httpProbeAddress,
          port,
          hostHeader: domain,
          path,
          timeoutMs,
          maxBodyBytes: MAX_BODY_BYTES,
          signal: context.signal,
          https: true,
        });
      } catch (error) {
        if (context.signal.aborted) throw context.signal.reason;
        throw new StepError({
          code: StepErrorCode.ProbeFailed,
          message: `GET https://${domain}${path} through ${context.host.httpProbeAddress}:${port} failed: ${(error as Error).message}`,
          retryable: true,
        });
      }
    }
    const bodyExcerpt = answer.body.slice(0, EXCERPT_CHARS);
    const problems: string[] = [];
    if (!expectStatus.includes(answer.status)) {
      problems.push(`answered ${answer.status} where ${expectStatus.join(' or ')} was expected`);
    }
    if (expectText !== undefined && !answer.body.includes(expectText)) {
      problems.push(`the page does not contain ${JSON.stringify(expectText)}`);
    }
    if (problems.length > 0) {
      throw new StepError({
        code: StepErrorCode.ProbeFailed,
        message: `GET ${url} ${problems.join(', and ')}: ${JSON.stringify(bodyExcerpt.slice(0, 200))}`,
        retryable: false,
      });
    }
    context.note(`GET ${url}: ${answer.status} in ${answer.ms} ms`);
    return { status: answer.status, ms: answer.ms, bodyExcerpt };
  },
};
