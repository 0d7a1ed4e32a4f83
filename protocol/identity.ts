// A user's public identity: an RSA-PSS signing key and an RSA-OAEP encryption key, the second
// certified by the first (DESIGN.md "End-to-end encryption": a key is never used for both).
// The certification binds the user name, so a tracker cannot move a key to another account.

import { ProtocolError } from './errors.ts';
import { b64url, obj, type Infer } from './schema.ts';
import {
  LABELS,
  exportPublicKey,
  fingerprint,
  fromBase64Url,
  importPublicKey,
  signPss,
  toBase64Url,
  verifyPss,
} from './crypto.ts';
import type { KeyObject } from 'node:crypto';

export const identitySchema = obj({
  signingKey: b64url({ maxBytes: 600 }),
  encryptionKey: b64url({ maxBytes: 600 }),
  encryptionKeySig: b64url({ bytes: 256 }),
});
export type Identity = Infer<typeof identitySchema>;

export function certificationBytes(user: string, encryptionKeyDer: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(user, 'utf8'), Buffer.from([0]), encryptionKeyDer]);
}

export function makeIdentity(
  user: string,
  signing: { publicKey: KeyObject; privateKey: KeyObject },
  encryption: { publicKey: KeyObject },
): Identity {
  const encDer = exportPublicKey(encryption.publicKey);
  return {
    signingKey: toBase64Url(exportPublicKey(signing.publicKey)),
    encryptionKey: toBase64Url(encDer),
    encryptionKeySig: toBase64Url(signPss(signing.privateKey, LABELS.encryptionKeyCert, certificationBytes(user, encDer))),
  };
}

export interface CheckedIdentity {
  signingKey: KeyObject;
  encryptionKey: KeyObject;
  fingerprint: string;
}

/** Imports both keys (RSA-2048 only) and checks the certification; throws request.invalid. */
export function checkIdentity(user: string, identity: Identity): CheckedIdentity {
  try {
    const signingDer = fromBase64Url(identity.signingKey);
    const encDer = fromBase64Url(identity.encryptionKey);
    // DESIGN.md "End-to-end encryption": a key is never used for both signing and encryption.
    if (signingDer.equals(encDer)) throw new Error('the signing and encryption keys must differ');
    const signingKey = importPublicKey(signingDer);
    const encryptionKey = importPublicKey(encDer);
    const sig = fromBase64Url(identity.encryptionKeySig);
    if (!verifyPss(signingKey, LABELS.encryptionKeyCert, certificationBytes(user, encDer), sig)) {
      throw new Error('certification does not verify');
    }
    return { signingKey, encryptionKey, fingerprint: fingerprint(signingDer) };
  } catch (err) {
    throw new ProtocolError('request.invalid', `identity keys are not valid: ${(err as Error).message}`);
  }
}
