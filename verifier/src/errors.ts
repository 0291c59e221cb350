// One error type for every rejection, naming the check that failed so a
// user (and the page) can say which step it was.

/** Names of the checks a verification can fail, for display and tests. */
export type Check =
  | 'input' // size, encoding, syntax of some input
  | 'key' // a key string
  | 'note' // signed-note syntax
  | 'note-signature' // a note signature by a known key failed, or none verified
  | 'checkpoint' // checkpoint body
  | 'origin' // checkpoint origin vs log key
  | 'policy' // tlog-policy text
  | 'quorum' // witness quorum not met
  | 'cbor' // CBOR syntax or determinism
  | 'claim' // claim schema
  | 'signed-claim' // COSE_Sign1 structure
  | 'claim-signature' // the vendor's COSE signature
  | 'receipt' // receipt container
  | 'inclusion' // inclusion proof
  | 'consistency' // consistency proof
  | 'asset-hash' // the file's SHA-256 is not the claim's
  | 'tile' // tile path or contents
  | 'bundle' // entry bundle
  | 'evidence' // evidence bundle
  | 'lookup' // lookup proof or response
  | 'scitt' // COSE receipt, transparent statement, COSE key
  | 'index' // verifiable index entries, keys, evidence
  | 'c2pa'; // a C2PA manifest store (JUMBF boxes) or the JPEG/PNG container holding it

/** A rejection: `check` says which check, `message` why. */
export class VerifyError extends Error {
  readonly check: Check;
  constructor(check: Check, message: string) {
    super(message);
    this.name = 'VerifyError';
    this.check = check;
  }
}

/** Throws a VerifyError. */
export function fail(check: Check, message: string): never {
  throw new VerifyError(check, message);
}
