// The tracker's certificate and its secret. On first start it makes a self-signed certificate
// beside the database (clients pin its fingerprint, like SSH) and a 32-byte secret in its own
// file: the secret keys the fake salts and the extra wrap of key blobs, so a stolen database
// alone opens nothing. Both private files are mode 0600.

import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fingerprint, randomBytes } from '../protocol/crypto.ts';
import { ConfigError } from './config.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  fingerprint: string;
  generated: boolean;
}

const PRIVATE_MODE = 0o600;
const CERT_MODE = 0o644;

export function materialPaths(dbPath: string) {
  const dir = dirname(dbPath);
  return {
    cert: join(dir, 'tracker-cert.pem'),
    key: join(dir, 'tracker-key.pem'),
    secret: join(dir, 'tracker.secret'),
  };
}

function writePrivate(path: string, data: string | Buffer): void {
  // `wx`: never overwrite an existing secret; the mode applies at creation, chmod covers umask.
  writeFileSync(path, data, { mode: PRIVATE_MODE, flag: 'wx' });
  chmodSync(path, PRIVATE_MODE);
}

export async function loadOrCreateTlsMaterial(dbPath: string, given?: { cert: string; key: string }): Promise<TlsMaterial> {
  const paths = given ?? materialPaths(dbPath);
  let generated = false;
  if (!given && existsSync(paths.cert) !== existsSync(paths.key)) {
    // Half a pair (a first start cut short, or a file removed by hand): never overwrite a private
    // key, and say what to do instead of failing on the exclusive write with a stack trace.
    const [present, missing] = existsSync(paths.key) ? [paths.key, paths.cert] : [paths.cert, paths.key];
    throw new ConfigError(
      `${present} exists but ${missing} does not; restore it, or remove ${present} to make a new certificate (clients will then have to forget their pinned fingerprint)`,
    );
  }
  if (!given && !(existsSync(paths.cert) && existsSync(paths.key))) {
    const selfsigned = await import('selfsigned');
    const now = new Date();
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'p2p-chat tracker' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 60_000),
      // Trust comes from the pinned fingerprint, not from expiry; ten years avoids a surprise.
      notAfterDate: new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000),
    });
    writePrivate(paths.key, pems.private);
    // Public, but only the tracker may change it (0644 whatever the umask).
    writeFileSync(paths.cert, pems.cert, { mode: CERT_MODE, flag: 'wx' });
    chmodSync(paths.cert, CERT_MODE);
    generated = true;
  }
  const cert = readFileSync(paths.cert, 'utf8');
  const key = readFileSync(paths.key, 'utf8');
  return { cert, key, fingerprint: certificateFingerprint(cert), generated };
}

export function certificateFingerprint(pem: string): string {
  return fingerprint(new X509Certificate(pem).raw);
}

export function loadOrCreateSecret(dbPath: string): Buffer {
  const { secret } = materialPaths(dbPath);
  if (!existsSync(secret)) writePrivate(secret, randomBytes(32).toString('base64') + '\n');
  const value = Buffer.from(readFileSync(secret, 'utf8').trim(), 'base64');
  if (value.length !== 32) throw new Error(`${secret} is damaged: it must hold 32 bytes in base64`);
  return value;
}
