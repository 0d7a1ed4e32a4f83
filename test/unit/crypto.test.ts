// protocol/crypto against Wycheproof (test/vectors/wycheproof), RFC 7914 and RFC 5869 vectors,
// plus the behaviour the rest of the project relies on (labels, fixed parameters, strict inputs).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nc from 'node:crypto';
import * as c from '../../protocol/crypto.ts';
import { isCoded, type ErrorCode } from '../../protocol/errors.ts';

interface Case { tcId: number; result: 'valid' | 'invalid' | 'acceptable'; flags: string[]; [field: string]: any }
interface Group { tests: Case[]; [field: string]: any }

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const range = (from: number, to: number): Buffer => Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));
const isCode = (code: string) => (e: unknown): boolean => isCoded(e, code as ErrorCode);

/** Runs `check` on every case of a file and asserts that none was missed. */
function eachCase(name: string, check: (t: Case, g: Group, id: string) => void): Record<string, number> {
  const url = new URL(`../vectors/wycheproof/${name}_test.json`, import.meta.url);
  const file = JSON.parse(readFileSync(url, 'utf8')) as { numberOfTests: number; testGroups: Group[] };
  const seen: Record<string, number> = {};
  for (const g of file.testGroups) for (const t of g.tests) {
    check(t, g, `${name} tcId ${t.tcId} (${t.result}: ${t.comment})`);
    seen[t.result] = (seen[t.result] ?? 0) + 1;
  }
  assert.equal(Object.values(seen).reduce((a, b) => a + b, 0), file.numberOfTests);
  return seen;
}

let alice: c.RsaKeyPair, bob: c.RsaKeyPair;
before(async () => { [alice, bob] = await Promise.all([c.generateRsaKeyPair(), c.generateRsaKeyPair()]); });

test('wycheproof aes_gcm: AES-256, 96-bit IV, 128-bit tag exact; every other size refused', () => {
  let ours = 0;
  const seen = eachCase('aes_gcm', (t, g, id) => {
    const [key, iv, aad, msg] = [hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg)];
    const sealed = Buffer.concat([hex(t.ct), hex(t.tag)]);
    if (g.keySize !== 256 || g.ivSize !== 96 || g.tagSize !== 128) {
      // AES-128/192, 0..2056-bit IVs (including the invalid zero-length IVs): not our variant.
      assert.throws(() => c.aesGcmEncrypt(key, iv, msg, aad), TypeError, id);
      assert.throws(() => c.aesGcmDecrypt(key, iv, sealed, aad), TypeError, id);
      return;
    }
    ours++;
    if (t.result === 'valid') {
      assert.deepEqual(c.aesGcmEncrypt(key, iv, msg, aad), sealed, id);
      assert.deepEqual(c.aesGcmDecrypt(key, iv, sealed, aad), msg, id);
    } else {
      assert.throws(() => c.aesGcmDecrypt(key, iv, sealed, aad), isCode('crypto.decrypt_failed'), id);
    }
  });
  assert.equal(ours, 66);
  assert.deepEqual(seen, { valid: 229, invalid: 87 });
});

test('wycheproof x25519: valid and acceptable cases match, all-zero secrets refused', () => {
  // No case is "invalid". Our rule for "acceptable" ones (twist points, non-canonical and small
  // public keys): accept and compute the RFC 7748 result, except when the shared secret is all
  // zero (low-order public key), which we refuse as RFC 7748 section 6.1 allows.
  let refused = 0;
  const seen = eachCase('x25519', (t, _g, id) => {
    const priv = c.x25519PrivateFromRaw(hex(t.private));
    if (/^(00)+$/.test(t.shared)) {
      assert.ok(t.flags.includes('ZeroSharedSecret') && t.result === 'acceptable', id);
      assert.throws(() => c.x25519SharedSecret(priv, hex(t.public)), isCode('crypto.low_order_point'), id);
      refused++;
    } else {
      assert.deepEqual(c.x25519SharedSecret(priv, hex(t.public)), hex(t.shared), id);
    }
  });
  assert.equal(refused, 31);
  assert.deepEqual(seen, { valid: 264, acceptable: 254 });
});

test('wycheproof rsa_pss_2048_sha256_mgf1_32: valid verify, invalid (incl. PKCS#1 v1.5) do not', () => {
  const seen = eachCase('rsa_pss_2048_sha256_mgf1_32', (t, g, id) => {
    const key = c.importPublicKey(hex(g.publicKeyDer));
    assert.equal(c.pssVerifyRaw(key, hex(t.msg), hex(t.sig)), t.result === 'valid', id);
  });
  assert.deepEqual(seen, { valid: 63, invalid: 45 });
});

test('wycheproof rsa_oaep_2048_sha256_mgf1sha256: valid decrypt (and re-encrypt), invalid refused', () => {
  const seen = eachCase('rsa_oaep_2048_sha256_mgf1sha256', (t, g, id) => {
    const priv = c.importPrivateKey(hex(g.privateKeyPkcs8));
    const [label, ct, msg] = [hex(t.label), hex(t.ct), hex(t.msg)];
    if (t.result !== 'valid') {
      assert.throws(() => c.oaepDecrypt(priv, label, ct), isCode('crypto.decrypt_failed'), id);
      return;
    }
    assert.deepEqual(c.oaepDecrypt(priv, label, ct), msg, id);
    if (msg.length > c.OAEP_MAX_PLAINTEXT_BYTES) return;
    assert.deepEqual(c.oaepDecrypt(priv, label, c.oaepEncrypt(nc.createPublicKey(priv), label, msg)), msg, id);
  });
  assert.deepEqual(seen, { valid: 18, invalid: 19 });
});

test('wycheproof hkdf_sha256: valid outputs match, over-long outputs refused', () => {
  const seen = eachCase('hkdf_sha256', (t, _g, id) => {
    const run = () => c.hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size);
    if (t.result === 'valid') assert.deepEqual(run(), hex(t.okm), id);
    else assert.throws(run, TypeError, id);
  });
  assert.deepEqual(seen, { valid: 83, invalid: 3 });
});

test('wycheproof hmac_sha256: valid tags (full and truncated) match, modified tags do not', () => {
  const seen = eachCase('hmac_sha256', (t, g, id) => {
    const tag = c.hmacSha256(hex(t.key), hex(t.msg)).subarray(0, g.tagSize / 8);
    assert.equal(c.constantTimeEqual(tag, hex(t.tag)), t.result === 'valid', id);
  });
  assert.deepEqual(seen, { valid: 66, invalid: 108 });
});

test('RFC 7914 section 12 scrypt vectors 1-3', async () => {
  // Vector 4 (N=2^20, r=8) needs 1 GiB of memory and is left out on purpose.
  const cases: [string, string, number, number, number, string][] = [
    ['', '', 16, 1, 1, '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906'],
    ['password', 'NaCl', 1024, 8, 16, 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640'],
    ['pleaseletmein', 'SodiumChloride', 16384, 8, 1, '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887'],
  ];
  for (const [pw, salt, N, r, p, dk] of cases) {
    const out = await c.scryptDerive(pw, Buffer.from(salt), 64, { N, r, p, maxmem: 64 * 1024 * 1024 });
    assert.equal(out.toString('hex'), dk, `scrypt ${pw}/${salt}`);
  }
});

test('RFC 5869 HKDF-SHA-256 test cases 1-3', () => {
  assert.equal(c.hkdfSha256(Buffer.alloc(22, 0x0b), range(0x00, 0x0c), range(0xf0, 0xf9), 42).toString('hex'),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  assert.equal(c.hkdfSha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82).toString('hex'),
    'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87');
  assert.equal(c.hkdfSha256(Buffer.alloc(22, 0x0b), Buffer.alloc(0), Buffer.alloc(0), 42).toString('hex'),
    '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
});

test('labels are distinct, under LABEL_PREFIX, without NUL; crypto errors carry a declared code', () => {
  const values = Object.values(c.LABELS);
  assert.equal(new Set(values).size, values.length);
  for (const l of values) assert.ok(l.startsWith(c.LABEL_PREFIX) && !l.includes('\0'), l);
  assert.throws(() => c.importPublicKey(Buffer.from('nope')), (e: unknown) => isCoded(e, 'crypto.bad_key') && e instanceof Error);
});

test('PSS: a signature is bound to its label and data; garbage never throws', () => {
  const data = Buffer.from('room 1, head 7');
  const sig = c.signPss(alice.privateKey, c.LABELS.roomEvent, data);
  assert.equal(sig.length, 256);
  assert.equal(c.verifyPss(alice.publicKey, c.LABELS.roomEvent, data, sig), true);
  assert.equal(c.verifyPss(alice.publicKey, c.LABELS.message, data, sig), false);
  assert.equal(c.verifyPss(alice.publicKey, c.LABELS.roomEvent, Buffer.from('room 1, head 8'), sig), false);
  assert.equal(c.verifyPss(bob.publicKey, c.LABELS.roomEvent, data, sig), false);
  const flipped = Buffer.from(sig); flipped[100] ^= 1;
  assert.equal(c.verifyPss(alice.publicKey, c.LABELS.roomEvent, data, flipped), false);
  for (const junk of [Buffer.alloc(0), Buffer.alloc(3), Buffer.alloc(256, 0xff), Buffer.alloc(257), c.randomBytes(256)]) {
    assert.equal(c.verifyPss(alice.publicKey, c.LABELS.roomEvent, data, junk), false, `${junk.length} junk bytes`);
  }
  // The label is UTF8(label) || 0x00 || data, signed raw.
  const raw = Buffer.concat([Buffer.from(c.LABELS.roomEvent), Buffer.of(0), data]);
  assert.equal(c.pssVerifyRaw(alice.publicKey, raw, sig), true);
  assert.throws(() => c.signPss(alice.privateKey, 'p2p-chat/v1/nope' as c.Label, data), TypeError);
  assert.throws(() => c.signPss(alice.publicKey, c.LABELS.roomEvent, data), TypeError);
});

test("PSS: salt length 32 on both sides, Node's defaults and PKCS#1 v1.5 refused", () => {
  const msg = Buffer.from('transcript');
  const [ours, pss] = [c.pssSignRaw(alice.privateKey, msg), nc.constants.RSA_PKCS1_PSS_PADDING];
  assert.equal(nc.verify('sha256', msg, { key: alice.publicKey, padding: pss, saltLength: 32 }, ours), true);
  assert.equal(nc.verify('sha256', msg, { key: alice.publicKey, padding: pss, saltLength: 20 }, ours), false);
  const maxSalt = nc.sign('sha256', msg, { key: alice.privateKey, padding: pss }); // Node's default salt length
  assert.equal(c.pssVerifyRaw(alice.publicKey, msg, maxSalt), false);
  assert.equal(c.pssVerifyRaw(alice.publicKey, msg, nc.sign('sha256', msg, alice.privateKey)), false);
});

test('OAEP: the label binds the ciphertext; SHA-1 OAEP and oversize plaintext refused', () => {
  const pt = c.randomBytes(32);
  const ct = c.oaepEncrypt(bob.publicKey, c.LABELS.sessionWrap, pt);
  assert.deepEqual(c.oaepDecrypt(bob.privateKey, c.LABELS.sessionWrap, ct), pt);
  assert.deepEqual(c.oaepDecrypt(bob.privateKey, Buffer.from(c.LABELS.sessionWrap), ct), pt);
  assert.throws(() => c.oaepDecrypt(bob.privateKey, c.LABELS.keywrap, ct), isCode('crypto.decrypt_failed'));
  assert.throws(() => c.oaepDecrypt(alice.privateKey, c.LABELS.sessionWrap, ct), isCode('crypto.decrypt_failed'));
  const sha1 = nc.publicEncrypt({ key: bob.publicKey, padding: nc.constants.RSA_PKCS1_OAEP_PADDING }, pt);
  assert.throws(() => c.oaepDecrypt(bob.privateKey, '', sha1), isCode('crypto.decrypt_failed'));
  assert.equal(c.oaepEncrypt(bob.publicKey, '', Buffer.alloc(190)).length, 256);
  assert.throws(() => c.oaepEncrypt(bob.publicKey, '', Buffer.alloc(191)), TypeError);
});

test('RSA keys: DER round trips; only canonical RSA-2048 with e=65537 imported', () => {
  const spki = c.exportPublicKey(alice.publicKey);
  assert.deepEqual(c.exportPublicKey(c.importPublicKey(spki)), spki);
  const pkcs8 = c.exportPrivateKey(alice.privateKey);
  const sig = c.signPss(c.importPrivateKey(pkcs8), c.LABELS.auth, Buffer.of(1));
  assert.equal(c.verifyPss(alice.publicKey, c.LABELS.auth, Buffer.of(1), sig), true);
  const small = nc.generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const e3 = nc.createPublicKey({ key: { ...alice.publicKey.export({ format: 'jwk' }), e: 'Aw' }, format: 'jwk' });
  const bad: Uint8Array[] = [small.publicKey, ec.publicKey, e3].map((k) => k.export({ type: 'spki', format: 'der' }));
  bad.push(pkcs8, Buffer.alloc(0), spki.subarray(0, 100), Buffer.concat([spki, Buffer.of(0)]));
  for (const der of bad) assert.throws(() => c.importPublicKey(der), isCode('crypto.bad_key'));
  for (const der of [small.privateKey.export({ type: 'pkcs8', format: 'der' }), spki, Buffer.alloc(5)]) {
    assert.throws(() => c.importPrivateKey(der), isCode('crypto.bad_key'));
  }
  assert.throws(() => c.exportPublicKey(small.publicKey), TypeError);
  assert.throws(() => c.oaepEncrypt(small.publicKey, '', Buffer.of(1)), TypeError);
});

test('GCM: only 32-byte keys and 12-byte IVs; wrong AAD, any flipped bit, short input refused', () => {
  const [key, iv, aad, pt] = [c.randomBytes(32), c.randomBytes(12), Buffer.from('aad'), Buffer.from('hello')];
  const sealed = c.aesGcmEncrypt(key, iv, pt, aad);
  assert.equal(sealed.length, pt.length + c.GCM_TAG_BYTES);
  assert.deepEqual(c.aesGcmDecrypt(key, iv, sealed, aad), pt);
  assert.throws(() => c.aesGcmEncrypt(key, c.randomBytes(8), pt, aad), /iv must be 12 bytes/);
  assert.throws(() => c.aesGcmEncrypt(c.randomBytes(16), iv, pt, aad), /key must be 32 bytes/);
  assert.throws(() => c.aesGcmDecrypt(key, c.randomBytes(8), sealed, aad), TypeError);
  assert.throws(() => c.aesGcmDecrypt(key, iv, sealed, Buffer.from('aaD')), isCode('crypto.decrypt_failed'));
  for (let bit = 0; bit < sealed.length * 8; bit++) {
    const bad = Buffer.from(sealed); bad[bit >> 3] ^= 1 << (bit & 7);
    assert.throws(() => c.aesGcmDecrypt(key, iv, bad, aad), isCode('crypto.decrypt_failed'), `bit ${bit}`);
  }
  for (const n of [0, 15]) assert.throws(() => c.aesGcmDecrypt(key, iv, Buffer.alloc(n), aad), isCode('crypto.decrypt_failed'));
  assert.throws(() => c.aesGcmDecrypt(key, iv, sealed.subarray(1), aad), isCode('crypto.decrypt_failed'));
});

test('seal/open: random IV prefix, round trip, tamper and truncation refused', () => {
  const [key, aad, pt] = [c.randomBytes(32), Buffer.from(c.LABELS.message), Buffer.alloc(0)];
  const [a, b] = [c.seal(key, pt, aad), c.seal(key, pt, aad)];
  assert.equal(a.length, 12 + 16);
  assert.notDeepEqual(a.subarray(0, 12), b.subarray(0, 12));
  assert.deepEqual(c.open(key, a, aad), pt);
  assert.deepEqual(c.aesGcmDecrypt(key, a.subarray(0, 12), a.subarray(12), aad), pt);
  assert.throws(() => c.open(c.randomBytes(32), a, aad), isCode('crypto.decrypt_failed'));
  assert.throws(() => c.open(key, a.subarray(0, 27), aad), isCode('crypto.decrypt_failed'));
  const bad = Buffer.from(a); bad[0] ^= 0x80;
  assert.throws(() => c.open(key, bad, aad), isCode('crypto.decrypt_failed'));
});

test('x25519: both sides agree; low-order points and bad lengths refused', () => {
  const [a, b] = [c.x25519Generate(), c.x25519Generate()];
  assert.equal(a.publicKey.length, 32);
  const ab = c.x25519SharedSecret(a.privateKey, b.publicKey);
  assert.equal(ab.length, 32);
  assert.deepEqual(ab, c.x25519SharedSecret(b.privateKey, a.publicKey));
  const order8 = hex('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157');
  for (const low of [Buffer.alloc(32), Buffer.concat([Buffer.of(1), Buffer.alloc(31)]), order8]) {
    assert.throws(() => c.x25519SharedSecret(a.privateKey, low), isCode('crypto.low_order_point'));
  }
  assert.throws(() => c.x25519SharedSecret(a.privateKey, Buffer.alloc(31, 9)), /peerPublicRaw must be 32 bytes/);
  assert.throws(() => c.x25519SharedSecret(a.privateKey, Buffer.alloc(33, 9)), TypeError);
  assert.throws(() => c.x25519PrivateFromRaw(Buffer.alloc(31)), TypeError);
});

test('fingerprint: SHA-256 of the SPKI DER, 16 groups of 4 uppercase hex digits', () => {
  assert.equal(c.fingerprint(Buffer.alloc(0)),
    'E3B0 C442 98FC 1C14 9AFB F4C8 996F B924 27AE 41E4 649B 934C A495 991B 7852 B855');
  const spki = c.exportPublicKey(alice.publicKey);
  const fp = c.fingerprint(spki);
  assert.match(fp, /^[0-9A-F]{4}( [0-9A-F]{4}){15}$/);
  assert.equal(fp.replaceAll(' ', ''), c.sha256(spki).toString('hex').toUpperCase());
  assert.notEqual(fp, c.fingerprint(c.exportPublicKey(bob.publicKey)));
  // However it was typed or stored: one form for comparing.
  const flat = fp.replaceAll(' ', '');
  for (const typed of [fp, flat, flat.toLowerCase(), fp.toLowerCase().replaceAll(' ', ':'), ` ${fp}\t`]) assert.equal(c.normalizeFingerprint(typed), flat, typed);
});

test('hashes, HKDF bounds, constant-time compare, randomBytes', () => {
  assert.deepEqual(c.sha256(Buffer.from('ab'), Buffer.from('c')), c.sha256(Buffer.from('abc')));
  assert.equal(c.sha256().toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const kdf = (info: string | Uint8Array) => c.hkdfSha256(Buffer.of(1), Buffer.alloc(0), info, 32);
  assert.deepEqual(kdf(c.LABELS.auth), kdf(Buffer.from(c.LABELS.auth)));
  assert.notDeepEqual(kdf(c.LABELS.auth), kdf(c.LABELS.keywrap));
  for (const n of [0, 8161, 1.5]) assert.throws(() => c.hkdfSha256(Buffer.of(1), Buffer.alloc(0), '', n), /length/);
  assert.equal(c.hkdfSha256(Buffer.of(1), Buffer.alloc(0), '', 8160).length, 8160);
  const abc = Buffer.from('abc');
  assert.deepEqual(['abc', 'abd', 'abcd', ''].map((s) => c.constantTimeEqual(abc, Buffer.from(s))), [true, false, false, false]);
  assert.throws(() => c.constantTimeEqual('abc' as unknown as Uint8Array, Buffer.from('abc')), /a must be a Uint8Array/);
  assert.equal(c.randomBytes(24).length, 24);
  assert.notDeepEqual(c.randomBytes(16), c.randomBytes(16));
  assert.throws(() => c.randomBytes(-1), TypeError);
});

test('base64url: round trip; padding, foreign characters, non-canonical and wrong length refused', () => {
  const b = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x01]);
  assert.equal(c.toBase64Url(b), '-_-_AAE');
  assert.deepEqual(c.fromBase64Url('-_-_AAE', 5), b);
  assert.deepEqual(c.fromBase64Url(''), Buffer.alloc(0));
  for (const s of ['+/+/AAE', '-_-_AAE=', '-_-_ AAE', '-_-_AAE\n', 'A', 'AB', 'AAF']) assert.throws(() => c.fromBase64Url(s), TypeError, s);
  assert.throws(() => c.fromBase64Url('-_-_AAE', 4), /decode to 4 bytes, got 5/);
});

test('scrypt: client constants, defaults, NFKC passwords, bad params refused', async () => {
  assert.deepEqual({ ...c.SCRYPT_PARAMS }, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  assert.ok(Object.isFrozen(c.SCRYPT_PARAMS));
  const salt = c.randomBytes(16);
  const out = await c.scryptDerive('correct horse battery staple', salt);
  assert.equal(out.length, 32);
  assert.deepEqual(out, nc.scryptSync('correct horse battery staple', salt, 32, c.SCRYPT_PARAMS));
  const small = { N: 16, r: 1, p: 1, maxmem: 1 << 20 };
  const angstromSign = await c.scryptDerive('\u212B', salt, 32, small); // normalizes to U+00C5
  assert.deepEqual(angstromSign, await c.scryptDerive('\u00C5', salt, 32, small));
  assert.notDeepEqual(angstromSign, await c.scryptDerive(Buffer.from('\u212B'), salt, 32, small));
  assert.throws(() => c.scryptDerive('pw', salt, 32, { ...small, N: 15 }), /power of two/);
  assert.throws(() => c.scryptDerive('pw', 'salt' as unknown as Uint8Array), /salt must be a Uint8Array/);
  await assert.rejects(c.scryptDerive('pw', salt, 32, { ...small, N: 2 ** 20, r: 8 })); // over maxmem
});
