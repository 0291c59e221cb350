#!/usr/bin/env python3
"""Independent check of a COSE receipt fetched from a running provlog log
over SCRAPI (run by tests/tests/scrapi.rs).

Usage: verify_receipt.py STATEMENT RECEIPT KEYSET ORIGIN

STATEMENT is the registered signed statement, RECEIPT the RFC 9942 receipt
the log returned, KEYSET the COSE_KeySet from /.well-known/scitt-keys.
Uses only cbor2 and pycose (COSE, RFC 9052) plus its own RFC 9162 code:
the receipt's kid must name a key of the set, iss must be the origin, sub
the tree head, and pycose must verify the EdDSA signature over the root
recomputed from the statement's leaf. Prints "receipt verified by pycose"
and exits 0, or exits non-zero. Needs: pip install pycose 'cbor2<6'

An ML-DSA-44 receipt (alg -48; pycose has no ML-DSA) is checked the same
way, its signature over the RFC 9052 Sig_structure (built here with cbor2)
verified by dilithium-py (an independent FIPS 204); it prints "receipt
verified by dilithium-py". Needs: pip install dilithium-py
"""

import hashlib
import sys

import cbor2
from pycose.keys.curves import Ed25519
from pycose.keys.okp import OKPKey
from pycose.messages import Sign1Message


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise ValueError("index out of range")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("path too long")
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("path too short")
    return r


def main():
    statement, receipt, keyset = (open(p, "rb").read() for p in sys.argv[1:4])
    origin = sys.argv[4]
    keys = cbor2.loads(keyset)
    assert isinstance(keys, list) and keys, "COSE_KeySet must be a non-empty array"
    tag = cbor2.loads(receipt)
    assert isinstance(tag, cbor2.CBORTag) and tag.tag == 18, "receipt is not COSE_Sign1"
    phdr_bytes, uhdr, payload, _sig = tag.value
    assert payload is None, "payload must be detached"
    phdr = cbor2.loads(phdr_bytes)
    assert phdr[1] in (-8, -48), "expected an EdDSA or ML-DSA-44 receipt"
    assert phdr[395] == 1, "vds must be RFC9162_SHA256"
    assert phdr[15][1] == origin, "iss must be the log origin"
    proofs = uhdr[396][-1]
    assert len(proofs) == 1, "one inclusion proof"
    size, index, path = cbor2.loads(proofs[0])
    assert phdr[15][2] == f"{origin}/{size}", "sub must name the tree head"
    leaf = hashlib.sha256(b"\x00" + statement).digest()
    root = root_from_inclusion(leaf, index, size, path)
    if phdr[1] == -48:
        from dilithium_py.ml_dsa import ML_DSA_44

        akp = [k for k in keys if k.get(1) == 7 and k.get(3) == -48 and k.get(2) == phdr[4]]
        assert akp, "the receipt's kid is not an AKP ML-DSA-44 key of the key set"
        sig_structure = cbor2.dumps(["Signature1", phdr_bytes, b"", root])
        assert len(_sig) == 2420, "ML-DSA-44 signatures are 2,420 bytes"
        assert ML_DSA_44.verify(akp[0][-1], sig_structure, _sig), "dilithium-py: ML-DSA-44 signature does not verify"
        print(f"receipt verified by dilithium-py: leaf {index} of tree size {size}")
        return
    okp = [k for k in keys if k.get(1) == 1 and k.get(2) == phdr[4]]
    assert okp, "the receipt's kid is not an OKP key of the key set"
    msg = Sign1Message.decode(receipt)
    msg.payload = root
    msg.key = OKPKey(crv=Ed25519, x=okp[0][-2])
    assert msg.verify_signature(), "pycose: EdDSA signature does not verify"
    print(f"receipt verified by pycose: leaf {index} of tree size {size}")


if __name__ == "__main__":
    main()
