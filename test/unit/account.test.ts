import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, hkdfSync, scryptSync } from 'node:crypto';
import {
  ACCOUNT_SALT_BYTES,
  MIN_PASSWORD_LENGTH,
  checkPasswordPolicy,
  createIdentityKeys,
  decryptKeyBlob,
  deriveAccountKeys,
  encryptKeyBlob,
  keysMatchIdentity,
  newAccountSalt,
  type IdentityKeys,
} from '../../peer/account.ts';
import {
  LABELS,
  SCRYPT_PARAMS,
  exportPrivateKey,
  fromBase64Url,
  signPss,
  toBase64Url,
  verifyPss,
} from '../../protocol/crypto.ts';
import { checkIdentity } from '../../protocol/identity.ts';
import { ProtocolError, isCoded } from '../../protocol/errors.ts';
import { trackerRequestSchema } from '../../protocol/tracker.ts';

const FAST = { N: 2 ** 10, r: 8, p: 1, maxmem: 32 * 1024 * 1024 };
const PASSWORD = 'tangerine rooftop violin';
const SALT = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

/** The derivation written out with node:crypto directly, as DESIGN.md states it. */
function expectedKeys(password: string, salt: Buffer, params: typeof FAST) {
  const secret = scryptSync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, 32, params);
  const hkdf = (label: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), label, 32));
  return { authKey: hkdf('p2p-chat/v1/auth'), keyKey: hkdf('p2p-chat/v1/keywrap') };
}

describe('deriveAccountKeys', () => {
  test('is scrypt then HKDF with the auth and keywrap labels', async () => {
    const keys = await deriveAccountKeys(PASSWORD, SALT, FAST);
    const expected = expectedKeys(PASSWORD, SALT, FAST);
    assert.equal(keys.authKey.length, 32);
    assert.equal(keys.keyKey.length, 32);
    assert.deepEqual(keys.authKey, expected.authKey);
    assert.deepEqual(keys.keyKey, expected.keyKey);
    assert.notDeepEqual(keys.authKey, keys.keyKey);
  });

  test('uses the client constants SCRYPT_PARAMS (N=2^17, r=8, p=1) by default', async () => {
    assert.deepEqual({ ...SCRYPT_PARAMS }, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
    const keys = await deriveAccountKeys(PASSWORD, SALT);
    assert.deepEqual(keys, expectedKeys(PASSWORD, SALT, SCRYPT_PARAMS));
    // and the parameters matter: the fast ones give other keys
    assert.notDeepEqual(keys.authKey, (await deriveAccountKeys(PASSWORD, SALT, FAST)).authKey);
  });

  test('is deterministic for one salt and differs across salts and passwords', async () => {
    const a = await deriveAccountKeys(PASSWORD, SALT, FAST);
    const again = await deriveAccountKeys(PASSWORD, Buffer.from(SALT), FAST);
    assert.deepEqual(again, a);
    const otherSalt = Buffer.from(SALT);
    otherSalt[15] ^= 1;
    const b = await deriveAccountKeys(PASSWORD, otherSalt, FAST);
    assert.notDeepEqual(b.authKey, a.authKey);
    assert.notDeepEqual(b.keyKey, a.keyKey);
    const c = await deriveAccountKeys(PASSWORD + '!', SALT, FAST);
    assert.notDeepEqual(c.authKey, a.authKey);
  });

  test('treats composed and decomposed forms of a typed password alike (NFKC)', async () => {
    const composed = 'caf\u00e9 rooftop violin';
    const decomposed = 'cafe\u0301 rooftop violin';
    assert.notEqual(composed, decomposed);
    assert.deepEqual(await deriveAccountKeys(composed, SALT, FAST), await deriveAccountKeys(decomposed, SALT, FAST));
  });

  test('refuses a salt that is not 16 bytes', async () => {
    await assert.rejects(deriveAccountKeys(PASSWORD, Buffer.alloc(8), FAST), TypeError);
    await assert.rejects(deriveAccountKeys(PASSWORD, 'salt' as unknown as Buffer, FAST), TypeError);
  });

  test('newAccountSalt is 16 fresh random bytes', () => {
    const a = newAccountSalt();
    assert.equal(a.length, ACCOUNT_SALT_BYTES);
    assert.notDeepEqual(newAccountSalt(), a);
  });
});

describe('identity keys and the key blob', () => {
  let alice: IdentityKeys;
  let bob: IdentityKeys;
  let keyKey: Buffer;
  before(async () => {
    [alice, bob] = await Promise.all([createIdentityKeys('alice'), createIdentityKeys('bob')]);
    keyKey = (await deriveAccountKeys(PASSWORD, SALT, FAST)).keyKey;
  });

  test('createIdentityKeys makes two distinct RSA-2048 pairs and an identity certified for the user', () => {
    const checked = checkIdentity('alice', alice.identity);
    assert.equal(checked.signingKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(checked.signingKey.equals(alice.signing.publicKey));
    assert.ok(checked.encryptionKey.equals(alice.encryption.publicKey));
    assert.ok(!alice.signing.publicKey.equals(alice.encryption.publicKey));
    assert.match(checked.fingerprint, /^([0-9A-F]{4} ){15}[0-9A-F]{4}$/);
    // the certification binds the name: the same keys do not pass as bob's
    assert.throws(() => checkIdentity('bob', alice.identity), (e: unknown) => e instanceof ProtocolError && e.code === 'request.invalid');
  });

  test('the blob round-trips to working keys that match the identity', () => {
    const blob = encryptKeyBlob(keyKey, 'alice', alice);
    const keys = decryptKeyBlob(keyKey, 'alice', blob);
    assert.deepEqual(exportPrivateKey(keys.signing.privateKey), exportPrivateKey(alice.signing.privateKey));
    assert.deepEqual(exportPrivateKey(keys.encryption.privateKey), exportPrivateKey(alice.encryption.privateKey));
    assert.ok(keysMatchIdentity(keys, alice.identity));
    assert.ok(!keysMatchIdentity(keys, bob.identity));
    const data = Buffer.from('hello');
    const sig = signPss(keys.signing.privateKey, LABELS.roomEvent, data);
    assert.ok(verifyPss(checkIdentity('alice', alice.identity).signingKey, LABELS.roomEvent, data, sig));
  });

  test('the blob holds no private key in the clear and is fresh each time', () => {
    const blob = encryptKeyBlob(keyKey, 'alice', alice);
    const bytes = fromBase64Url(blob);
    const der = exportPrivateKey(alice.signing.privateKey);
    assert.equal(bytes.indexOf(der.subarray(0, 64)), -1);
    assert.notEqual(encryptKeyBlob(keyKey, 'alice', alice), blob);
  });

  test('the register request built from it passes the tracker schema (blob within its 8 KiB)', () => {
    const blob = encryptKeyBlob(keyKey, 'alice', alice);
    const parsed = trackerRequestSchema.parse({
      type: 'register',
      user: 'alice',
      salt: toBase64Url(SALT),
      authKey: toBase64Url(Buffer.alloc(32, 1)),
      identity: alice.identity,
      keyBlob: blob,
    });
    assert.equal(parsed.type, 'register');
  });

  const decryptFailed = (e: unknown) => isCoded(e, 'crypto.decrypt_failed');

  test('a wrong keyKey does not open the blob', async () => {
    const blob = encryptKeyBlob(keyKey, 'alice', alice);
    const wrong = (await deriveAccountKeys(PASSWORD + ' ', SALT, FAST)).keyKey;
    assert.throws(() => decryptKeyBlob(wrong, 'alice', blob), decryptFailed);
  });

  test("another user's name does not open the blob (AAD binds the user)", () => {
    const blob = encryptKeyBlob(keyKey, 'alice', alice);
    assert.throws(() => decryptKeyBlob(keyKey, 'bob', blob), decryptFailed);
    assert.throws(() => decryptKeyBlob(keyKey, 'Alice', blob), decryptFailed);
  });

  test('an altered or truncated blob is refused', () => {
    const bytes = fromBase64Url(encryptKeyBlob(keyKey, 'alice', alice));
    for (const at of [0, 12, bytes.length >> 1, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[at] ^= 0x01;
      assert.throws(() => decryptKeyBlob(keyKey, 'alice', toBase64Url(tampered)), decryptFailed, `byte ${at}`);
    }
    assert.throws(() => decryptKeyBlob(keyKey, 'alice', toBase64Url(bytes.subarray(0, 40))), decryptFailed);
    assert.throws(() => decryptKeyBlob(keyKey, 'alice', 'not base64!'), decryptFailed);
  });

  test('the blob keeps the two keys apart (signing is not encryption)', () => {
    const keys = decryptKeyBlob(keyKey, 'alice', encryptKeyBlob(keyKey, 'alice', alice));
    assert.ok(!keys.signing.privateKey.equals(keys.encryption.privateKey));
    assert.ok(createPrivateKey({ key: exportPrivateKey(keys.encryption.privateKey), format: 'der', type: 'pkcs8' })
      .equals(alice.encryption.privateKey));
  });
});

describe('checkPasswordPolicy', () => {
  const refused = (password: string, problem: string, message: RegExp, user?: string) =>
    assert.throws(
      () => checkPasswordPolicy(password, user),
      (e: unknown) => {
        assert.ok(isCoded(e, 'auth.weak_password'), `refused with ${String(e)}`);
        assert.equal(e.details?.problem, problem, `${JSON.stringify(password)}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      },
      `${JSON.stringify(password)} should be refused`,
    );

  test('refuses fewer than 15 characters, citing NIST SP 800-63B-4 and the count', () => {
    assert.equal(MIN_PASSWORD_LENGTH, 15);
    refused('', 'too_short', /at least 15 characters.*NIST SP 800-63B-4.*has 0/);
    refused('violin rooftop', 'too_short', /at least 15 characters.*has 14/); // 14
    checkPasswordPolicy('violin rooftops'); // 15
  });

  test('counts characters as Unicode code points, not UTF-16 units', () => {
    // 14 emoji are 28 UTF-16 units but 14 characters
    refused('🐙🦒🍋🚲🎻🌋🧀🪁🦔🍄🛶🧭🪴🐝', 'too_short', /has 14/);
    checkPasswordPolicy('🐙🦒🍋🚲🎻🌋🧀🪁🦔🍄🛶🧭🪴🐝🦉');
  });

  test('refuses long passwords from the common list, whatever their case and punctuation', () => {
    for (const p of ['passwordpassword', 'Correct Horse Battery Staple', 'correct-horse-battery-staple', 'Password123456789', 'The quick brown fox jumps over the lazy dog']) {
      refused(p, 'common', /list of common passwords/);
    }
  });

  test('refuses one repeated character and repeated short units', () => {
    refused('aaaaaaaaaaaaaaa', 'predictable', /repeats one character/);
    refused('               ', 'predictable', /repeats one character/);
    refused('...............-', 'predictable', /only spaces and punctuation/);
    refused('abcabcabcabcabcabc', 'predictable', /repeats "abc"/);
    refused('sunflower sunflower', 'predictable', /repeats "sunflower"/);
  });

  test('refuses sequences, keyboard rows, years and common words with few other characters', () => {
    refused('123456789012345', 'predictable', /made only of/);
    refused('zyxwvutsrqponmlkj', 'predictable', /made only of/);
    refused('asdfghjkl;123456', 'predictable', /made only of/);
    refused('qwerty qwerty 2024', 'predictable', /made only of/);
    refused('P@ssw0rd P@ssw0rd!', 'predictable', /only 1 other character/);
    refused('dragon monkey 1987', 'predictable', /made only of/);
    refused('superman qj 2024 !!', 'predictable', /only 2 other characters/);
  });

  test('refuses a password that is mostly the user name', () => {
    refused('alice.smith 2024 xyz', 'predictable', /your user name/, 'alice.smith');
    checkPasswordPolicy('alice.smith 2024 xyz', 'bob'); // not bob's name, so only 8 of it count as patterns
  });

  test('accepts long phrases of unrelated words, in any script', () => {
    for (const p of ['tangerine rooftop violin', 'my cat eats 3 socks daily', 'purple monkey dishwasher', 'Straße über Köln im Regen', 'черника крыша скрипка']) {
      checkPasswordPolicy(p, 'alice');
    }
  });
});
