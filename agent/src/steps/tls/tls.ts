// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { StepError, StepErrorCode } from '../../../../shared/src/errors.js';
import { ValidationError } from '../../../../shared/src/validation.js';
import { ensureDir, pathKind, writeFileAtomic } from '../../adapters/files.js';
import { HostLayout } from '../../adapters/layout.js';
import { booleanValue, listValue, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';
import { checkCertificate, replaceKeyPair, SiteTlsFiles } from './tls-files.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** ACME tokens and key authorizations are base64url (RFC 8555 §8.1, §8.3); nothing else reaches a path. */
const tokenPattern = /^[A-Za-z0-9_-]{16,128}$/;
const keyAuthorizationPattern = /^[A-Za-z0-9_-]{16,128}\.[A-Za-z0-9_-]{16,128}$/;

function tokenValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || !tokenPattern.test(value))
    throw new ValidationError({
      field,
      message: `${field} must be an ACME token (base64url, 16-128 characters)`,
    });
  return value;
}

/** A certificate chain in PEM, at most 64 KiB (a leaf and its intermediates). */
function chainValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > 65_536 || !value.includes('-----BEGIN CERTIFICATE-----'))
    throw new ValidationError({
      field,
      message: `${field} must be a PEM certificate chain of at most 64 KiB`,
    });
  return value;
}

/** The operator's key, sent with tls.install as a secret: a PEM private key of at most 16 KiB. */
function uploadedKey(secrets: Readonly<Record<string, string>>): string {
  const key = secrets.tlsKey;
  if (!key || key.length > 16_384 || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key))
    throw new StepError({
      code: StepErrorCode.InvalidParams,
      message: 'the uploaded certificate came without its private key (the tlsKey secret)',
      retryable: false,
    });
  return key;
}

export const tlsRequest: StepHandler<'tls.request'> = {
  name: 'tls.request',
  parseParams: (input) =>
    parseWith(input, ['domain', 'names'], [], (params) => {
      const domain = domainValue('domain', params.domain);
      const names = [...new Set(listValue('names', params.names, 100, domainValue))];
      if (names[0] !== domain)
        throw new ValidationError({ field: 'names', message: `names must start with the domain ${domain}` });
      return { domain, names };
    }),
  async run({ domain, names }, context) {
    const files = new SiteTlsFiles(context.host.root, domain);
    await files.prepare();
    const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
      {
        name: `CN=${domain}`,
        keys,
        signingAlgorithm: EC_P256,
        extensions: [
          new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns', value }))),
        ],
      },
      webcrypto,
    );
    const keyPem = x509.PemConverter.encode(
      await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
      'PRIVATE KEY',
    );
    await writeFileAtomic(files.pendingKey, keyPem, { mode: 0o600, owner: { uid: 0, gid: 0 } });
    context.note(`made a new key for ${domain} (kept in ${files.dir}) and a request for ${names.join(', ')}`);
    return { csrPem: csr.toString('pem') };
  },
};

export const tlsPutChallenge: StepHandler<'tls.put-challenge'> = {
  name: 'tls.put-challenge',
  parseParams: (input) =>
    parseWith(input, ['domain', 'token', 'keyAuthorization'], [], (params) => {
      const token = tokenValue('token', params.token);
      const keyAuthorization = params.keyAuthorization;
      if (typeof keyAuthorization !== 'string' || !keyAuthorizationPattern.test(keyAuthorization))
        throw new ValidationError({
          field: 'keyAuthorization',
          message: 'keyAuthorization must be an ACME key authorization (token.thumbprint)',
        });
      return { domain: domainValue('domain', params.domain), token, keyAuthorization };
    }),
  async run({ domain, token, keyAuthorization }, context) {
    const layout = new HostLayout(context.host.root);
    const dir = join(layout.siteAcmeRoot(domain), '.well-known', 'acme-challenge');
    await ensureDir(layout.acmeDir, 0o755);
    await ensureDir(dir, 0o755);
    const path = join(dir, token);
    // Not a secret: the CA reads it over plain HTTP.
    await writeFileAtomic(path, keyAuthorization, { mode: 0o644 });
    return { path };
  },
};

export const tlsRemoveChallenge: StepHandler<'tls.remove-challenge'> = {
  name: 'tls.remove-challenge',
  parseParams: (input) =>
    parseWith(input, ['domain', 'token'], [], (params) => ({
      domain: domainValue('domain', params.domain),
      token: tokenValue('token', params.token),
    })),
  async run({ domain, token }, context) {
    const path = join(
      new HostLayout(context.host.root).siteAcmeRoot(domain),
      '.well-known',
      'acme-challenge',
      token,
    );
    const removed = (await pathKind(path)) === 'file';
    await rm(path, { force: true });
    return { removed };
  },
};

export const tlsInstall: StepHandler<'tls.install'> = {
  name: 'tls.install',
  parseParams: (input) =>
    parseWith(input, ['domain', 'certificatePem'], ['uploaded'], (params) => ({
      domain: domainValue('domain', params.domain),
      certificatePem: chainValue('certificatePem', params.certificatePem),
      ...(params.uploaded !== undefined ? { uploaded: booleanValue('uploaded', params.uploaded) } : {}),
    })),
  async run({ domain, certificatePem, uploaded }, context) {
    const files = new SiteTlsFiles(context.host.root, domain);
    if (uploaded) {
      const key = uploadedKey(context.secrets);
      const facts = checkCertificate(certificatePem, key);
      await files.prepare();
      await replaceKeyPair(context, files, key, certificatePem);
      context.note(
        `installed the uploaded certificate for ${facts.names.join(', ')} (until ${facts.notAfter})`,
      );
      return facts;
    }
    const pending = await readFile(files.pendingKey, 'utf8').catch(() => undefined);
    if (pending === undefined) {
      // Run again after it finished: the certificate is in place with its key already.
      const live = await readFile(files.key, 'utf8').catch(() => undefined);
      const installed = await readFile(files.certificate, 'utf8').catch(() => undefined);
      if (live && installed === certificatePem) return checkCertificate(certificatePem, live);
      throw new StepError({
        code: StepErrorCode.Refused,
        message: `${domain} has no key waiting for a certificate on this server (tls.request makes one)`,
        retryable: false,
      });
    }
    const facts = checkCertificate(certificatePem, pending);
    await replaceKeyPair(context, files, pending, certificatePem);
    await rm(files.pendingKey, { force: true });
    context.note(
      `installed the certificate for ${facts.names.join(', ')} (until ${facts.notAfter}) in ${files.dir}`,
    );
    return facts;
  },
};

export const tlsRemove: StepHandler<'tls.remove'> = {
  name: 'tls.remove',
  parseParams: (input) =>
    parseWith(input, ['domain'], [], (params) => ({ domain: domainValue('domain', params.domain) })),
  async run({ domain }, context) {
    const layout = new HostLayout(context.host.root);
    const files = new SiteTlsFiles(context.host.root, domain);
    const removed = (await pathKind(files.dir)) === 'directory';
    await rm(files.dir, { recursive: true, force: true });
    await rm(layout.siteAcmeRoot(domain), { recursive: true, force: true });
    if (removed) context.note(`removed ${files.dir}`);
    return { removed };
  },
};
