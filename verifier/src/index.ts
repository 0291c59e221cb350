// provlog-verifier: an independent implementation of spec/ for verifiers.
export * from './bytes.js';
export * from './errors.js';
export * from './hash.js';
export * from './merkle.js';
export * from './ed25519.js';
export * from './keytypes.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './policy.js';
export * from './cbor.js';
export * from './claim.js';
export * from './signedclaim.js';
export * from './receipt.js';
export * from './tiles.js';
export * from './evidence.js';
export * from './json.js';
export * from './lookup.js';
