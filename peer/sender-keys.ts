// Room encryption with sender keys (DESIGN.md "End-to-end encryption"; Signal's sender keys and
// Megolm). Each member keeps, per room, one outbound session: a random id, a 32-byte chain key
// and the index of its next message. The session's current chain key is sent to the other
// members wrapped with RSA-OAEP, all wraps under one RSA-PSS signature (a rotation in a room of
// 50 costs one signature, not 49). Message key i and chain key i+1 both come from chain key i by
// HMAC, and the old chain key is overwritten, so stored state cannot open earlier messages.
// Every message is encrypted once (AES-256-GCM) and signed by its sender, so no other member,
// who holds the same chain key, can forge it.
//
// Pure computation: no I/O, no clock (`now` is passed in). Functions that advance a chain mutate
// the session in place and overwrite replaced keys with zeros: keep no other reference to
// `chainKey` buffers, and persist the session (serializeOutbound/serializeInbound) afterwards.
// Membership (is the sender a member at `head`?) and replay by (sender, session, seq) are the
// engine's checks; this file only says whether the cryptography holds.
//
//   sender-key-chain.ts    sessions, the ratchet, the error rule
//   sender-key-bytes.ts    what each signature, wrap and ciphertext is bound to
//   sender-key-send.ts     outbound sessions, rotation, bundles, encrypting
//   sender-key-receive.ts  opening bundles, decrypting envelopes
//   sender-key-storage.ts  sessions as JSON in the data folder

export {
  CHAIN_KEY_BYTES, MAX_SKIPPED, SESSION_ID_BYTES, deriveMessageKey, deriveNextChainKey,
  type InboundSession, type OutboundSession, type Recipient, type SenderKeyErrorCode,
} from './sender-key-chain.ts';
export { bundleSignatureValid, bundleSignedBytes, envelopeSignatureValid, envelopeSignedBytes } from './sender-key-bytes.ts';
export { MAX_BUNDLE_RECIPIENTS, MAX_CT_BYTES, encryptMessage, makeBundle, needsRotation, newOutboundSession, sealBody } from './sender-key-send.ts';
export { decryptEnvelope, openBundle } from './sender-key-receive.ts';
export {
  deserializeInbound, deserializeOutbound, serializeInbound, serializeOutbound, type StoredInbound, type StoredOutbound,
} from './sender-key-storage.ts';
