import { certificateNames, PLAIN_EDGE, type HttpsMode } from '../../../../shared/src/site-edge.js';
import type { StepOutput } from '../../../../shared/src/steps.js';
import type { TaskType } from '../../../../shared/src/tasks.js';
import { TaskRefusedError, type TaskContext } from '../../tasks/workflow.js';
import type { HeadPlace, SitePlace, SiteSteps } from '../tasks/site-steps.js';
import type { CertificateRecord } from './site-edges.repository.js';
import { nameCovers } from './uploaded-certificate.js';

/** An open ACME order as a task records it (AcmeIssuer.openOrder): plain JSON. */
export interface OrderTicket {
  names: string[];
  challenges: Array<{ name: string; token: string; keyAuthorization: string }>;
}

/** A certificate the CA issued, as a task records it. */
export interface IssuedChain {
  certificatePem: string;
  notAfter: string;
}

/** The CA as the site tasks use it: the master's ACME account at its directory (Let's Encrypt). */
export interface CertificateAuthority<Ticket extends OrderTicket = OrderTicket> {
  openOrder(names: string[]): Promise<Ticket>;
  /** The CA checks every challenge of the order (served by then); throws its reason. */
  validate(ticket: Ticket): Promise<void>;
  /** Finalizes with the CSR made on the server and downloads the chain. */
  finish(ticket: Ticket, csrPem: string): Promise<IssuedChain>;
}

/** What the certificate tasks read and write of the registry, beside SiteTaskDependencies. */
export interface CertificateDependencies {
  acme: CertificateAuthority;
  certificates: {
    of(siteId: string): Promise<Array<Pick<CertificateRecord, 'serverId' | 'names' | 'notAfter'>>>;
    record(certificate: CertificateRecord): Promise<void>;
    /** Every certificate of the site but those of these servers forgotten. */
    forget(siteId: string, keepServerIds: readonly string[]): Promise<void>;
    /** The certificate chain the operator uploaded for the site (its key stays sealed), or null. */
    upload(siteId: string): Promise<{ certificatePem: string } | null>;
  };
}

/**
 * The servers of a site whose certificate does not cover every name of it now (or that have none):
 * what an edge change or a move must issue before it is done.
 */
export async function headsWithoutCertificate(
  context: TaskContext<TaskType>,
  steps: SiteSteps,
  place: SitePlace,
  deps: CertificateDependencies,
): Promise<HeadPlace[]> {
  const names = certificateNames(place.domain, place.edge ?? PLAIN_EDGE);
  const held = await context.record('certificates.of', () => deps.certificates.of(place.siteId));
  return steps
    .heads(place)
    .filter(
      (head) =>
        !held.some(
          (certificate) =>
            certificate.serverId === head.id && names.every((name) => certificate.names.includes(name)),
        ),
    );
}

/**
 * A certificate from the CA for every name of the site, on each of these servers: each makes its
 * own key and request (the key never leaves it), the challenges are answered by every server of
 * the site (a load balancer may send the CA to any), and the certificate goes in beside its key.
 * Returns when the last one ends.
 */
export async function issueCertificates(
  context: TaskContext<TaskType>,
  steps: SiteSteps,
  place: SitePlace,
  heads: readonly HeadPlace[],
  deps: CertificateDependencies,
): Promise<string | null> {
  const names = certificateNames(place.domain, place.edge ?? PLAIN_EDGE);
  let notAfter: string | null = null;
  for (const head of heads) {
    await context.log(`ordering a certificate for ${names.join(', ')} on ${head.name}`);
    const ticket = await context.record('acme.order', () => deps.acme.openOrder(names));
    await context.scope('challenges', async () => {
      for (const challenge of ticket.challenges) {
        const answer = { domain: place.domain, token: challenge.token };
        context.cleanup(`withdraw the challenge for ${challenge.name}`, async () => {
          await steps.onHeads(context, place, 'tls.remove-challenge', () => answer);
        });
        await steps.onHeads(context, place, 'tls.put-challenge', () => ({
          ...answer,
          keyAuthorization: challenge.keyAuthorization,
        }));
      }
      await context.record('acme.validate', () => deps.acme.validate(ticket));
    });
    const { csrPem } = await context.step(head.id, 'tls.request', { domain: place.domain, names });
    const chain = await context.record('acme.finish', () => deps.acme.finish(ticket, csrPem));
    const installed = await context.step(head.id, 'tls.install', {
      domain: place.domain,
      certificatePem: chain.certificatePem,
    });
    await recordInstalled(context, deps, place, head, installed, 'letsencrypt');
    await context.log(
      `${head.name} has a certificate for ${installed.names.join(', ')} until ${installed.notAfter}`,
    );
    notAfter = installed.notAfter;
  }
  return notAfter;
}

/**
 * The operator's certificate put on each of these servers with its key (sent to the agent as a
 * secret, sealed in the registry otherwise). Refused when it does not name every name of the site
 * (a rename, an alias added since): upload one that does.
 */
export async function installUploaded(
  context: TaskContext<TaskType>,
  steps: SiteSteps,
  place: SitePlace,
  heads: readonly HeadPlace[],
  deps: CertificateDependencies,
): Promise<string | null> {
  const upload = await context.record('certificates.upload', () => deps.certificates.upload(place.siteId));
  if (!upload)
    throw new TaskRefusedError(
      `${place.domain} has no uploaded certificate: berth site https --cert FILE --key FILE`,
    );
  const names = certificateNames(place.domain, place.edge ?? PLAIN_EDGE);
  let notAfter: string | null = null;
  for (const head of heads) {
    const installed = await context.step(head.id, 'tls.install', {
      domain: place.domain,
      certificatePem: upload.certificatePem,
      uploaded: true,
    });
    const missing = names.filter((name) => !installed.names.some((pattern) => nameCovers(pattern, name)));
    if (missing.length > 0)
      throw new TaskRefusedError(
        `the uploaded certificate does not name ${missing.join(', ')}: upload one that does (berth site https --cert --key)`,
      );
    await recordInstalled(context, deps, place, head, installed, 'uploaded');
    notAfter = installed.notAfter;
  }
  return notAfter;
}

/** What tls.install put on a server, recorded as the certificate it serves the site with. */
function recordInstalled(
  context: TaskContext<TaskType>,
  deps: CertificateDependencies,
  place: SitePlace,
  head: HeadPlace,
  installed: StepOutput<'tls.install'>,
  mode: HttpsMode,
): Promise<void> {
  return context.record('certificates.record', () =>
    deps.certificates.record({
      siteId: place.siteId,
      serverId: head.id,
      names: installed.names,
      mode,
      serial: installed.serial,
      issuer: installed.issuer,
      notBefore: new Date(installed.notBefore),
      notAfter: new Date(installed.notAfter),
    }),
  );
}
