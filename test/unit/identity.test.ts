// protocol/identity: the certification of the encryption key by the signing key binds the user
// name, and only RSA-2048 keys are accepted (DESIGN.md "End-to-end encryption").
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { checkIdentity, certificationBytes, identitySchema, makeIdentity, type Identity } from '../../protocol/identity.ts';
import { LABELS, exportPublicKey, fingerprint, generateRsaKeyPair, signPss, toBase64Url, type RsaKeyPair } from '../../protocol/crypto.ts';
import { ProtocolError } from '../../protocol/errors.ts';

const isInvalid = (e: unknown): boolean => e instanceof ProtocolError && e.code === 'request.invalid';

// Generated once and reused: RSA-2048 generation is the slow part of this file.
let signing: RsaKeyPair, encryption: RsaKeyPair, other: RsaKeyPair;
let small: { publicKey: nc.KeyObject; privateKey: nc.KeyObject };
before(async () => {
  [signing, encryption, other] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair(), generateRsaKeyPair()]);
  // Straight from node:crypto: our generateRsaKeyPair only makes RSA-2048.
  small = nc.generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 65537 });
});

const der = (key: nc.KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/** A PSS signature over the certification made with node:crypto directly, so any key size works. */
function rawCertify(privateKey: nc.KeyObject, user: string, encDer: Buffer): string {
  const data = Buffer.concat([Buffer.from(LABELS.encryptionKeyCert, 'utf8'), Buffer.of(0), certificationBytes(user, encDer)]);
  return toBase64Url(nc.sign('sha256', data, { key: privateKey, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }));
}

test('makeIdentity/checkIdentity round trip: both keys back, fingerprint = SHA-256 of the signing SPKI DER', () => {
  const identity = makeIdentity('alice', signing, encryption);
  assert.deepEqual(identitySchema.parse(JSON.parse(JSON.stringify(identity))), identity);

  const checked = checkIdentity('alice', identity);
  assert.ok(der(checked.signingKey).equals(der(signing.publicKey)));
  assert.ok(der(checked.encryptionKey).equals(der(encryption.publicKey)));
  assert.equal(checked.fingerprint, fingerprint(exportPublicKey(signing.publicKey)));
  // Computed independently of protocol/crypto: uppercase hex of SHA-256, 16 groups of 4.
  const expected = nc.createHash('sha256').update(der(signing.publicKey)).digest('hex').toUpperCase().match(/.{4}/g)!.join(' ');
  assert.equal(checked.fingerprint, expected);
  assert.match(checked.fingerprint, /^([0-9A-F]{4} ){15}[0-9A-F]{4}$/);
  // The fingerprint is of the signing key, not the encryption key.
  assert.notEqual(checked.fingerprint, fingerprint(exportPublicKey(encryption.publicKey)));
});

test('a certification made for another user name is refused (a tracker cannot move keys to another account)', () => {
  const identity = makeIdentity('alice', signing, encryption);
  assert.doesNotThrow(() => checkIdentity('alice', identity));
  assert.throws(() => checkIdentity('mallory', identity), isInvalid);
  assert.throws(() => checkIdentity('alice2', identity), isInvalid);
});

test('swapped signing and encryption keys are refused', () => {
  const identity = makeIdentity('alice', signing, encryption);
  const swapped: Identity = { ...identity, signingKey: identity.encryptionKey, encryptionKey: identity.signingKey };
  assert.throws(() => checkIdentity('alice', swapped), isInvalid);
});

test('a signing key that did not make the certification is refused', () => {
  const identity = makeIdentity('alice', signing, encryption);
  const replaced: Identity = { ...identity, signingKey: toBase64Url(exportPublicKey(other.publicKey)) };
  assert.throws(() => checkIdentity('alice', replaced), isInvalid);
  // Another encryption key under the same certification, too.
  const moved: Identity = { ...identity, encryptionKey: toBase64Url(exportPublicKey(other.publicKey)) };
  assert.throws(() => checkIdentity('alice', moved), isInvalid);
  // One flipped bit in the certification.
  const sig = Buffer.from(identity.encryptionKeySig, 'base64url');
  sig[100] ^= 1;
  assert.throws(() => checkIdentity('alice', { ...identity, encryptionKeySig: toBase64Url(sig) }), isInvalid);
});

test('one key used for both signing and encryption is refused', () => {
  // Correctly self-certified, so only the "never used for both" rule can refuse it.
  const same = makeIdentity('alice', signing, { publicKey: signing.publicKey });
  assert.throws(() => checkIdentity('alice', same), isInvalid);
});

test('a 1024-bit RSA key is refused, as the encryption key and as the signing key', () => {
  const smallDer = der(small.publicKey);

  // Encryption key of 1024 bits, validly certified by a proper RSA-2048 signing key.
  const smallEncryption: Identity = {
    signingKey: toBase64Url(exportPublicKey(signing.publicKey)),
    encryptionKey: toBase64Url(smallDer),
    encryptionKeySig: toBase64Url(signPss(signing.privateKey, LABELS.encryptionKeyCert, certificationBytes('alice', smallDer))),
  };
  assert.throws(() => checkIdentity('alice', smallEncryption), isInvalid);

  // Signing key of 1024 bits whose certification is valid under that key: only its size is wrong.
  const encDer = exportPublicKey(encryption.publicKey);
  const smallSigning: Identity = {
    signingKey: toBase64Url(smallDer),
    encryptionKey: toBase64Url(encDer),
    encryptionKeySig: rawCertify(small.privateKey, 'alice', encDer),
  };
  const data = Buffer.concat([Buffer.from(LABELS.encryptionKeyCert, 'utf8'), Buffer.of(0), certificationBytes('alice', encDer)]);
  assert.ok(nc.verify('sha256', data, { key: small.publicKey, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    Buffer.from(smallSigning.encryptionKeySig, 'base64url')), 'the 1024-bit certification itself verifies');
  assert.throws(() => checkIdentity('alice', smallSigning), isInvalid);

  // The same construction with a 2048-bit key is accepted, so the refusals above are about size.
  const proper: Identity = { ...smallSigning, signingKey: toBase64Url(exportPublicKey(signing.publicKey)),
    encryptionKeySig: rawCertify(signing.privateKey, 'alice', encDer) };
  assert.doesNotThrow(() => checkIdentity('alice', proper));
});

test('keys that are not canonical SPKI DER are refused with request.invalid', () => {
  const identity = makeIdentity('alice', signing, encryption);
  assert.throws(() => checkIdentity('alice', { ...identity, signingKey: identity.signingKey + '=' }), isInvalid);
  assert.throws(() => checkIdentity('alice', { ...identity, encryptionKey: toBase64Url(Buffer.from('not a key')) }), isInvalid);
});
