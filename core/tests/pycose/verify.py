#!/usr/bin/env python3
"""Independent check of provlog's SCITT vectors (spec/vectors/scitt/).

Run by core/tests/pycose_interop.rs as `verify.py <spec/vectors dir>`.
Uses pycose (COSE, RFC 9052) and cbor2 to decode, its own RFC 9162 code to
recompute roots, pycose's EdDSA to verify Ed25519 signatures and
dilithium-py (an independent pure-Python FIPS 204) for ML-DSA-44, which
pycose does not implement. Prints one line per check; exits non-zero on
the first failure. Needs: pip install pycose dilithium-py
"""

import base64
import hashlib
import sys
from pathlib import Path

import cbor2
from pycose.keys.okp import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message
from dilithium_py.ml_dsa import ML_DSA_44

RECEIPTS, VDS, VDP, CWT = 394, 395, 396, 15


def vkey(path):
    """C2SP vkey -> (name, type byte, public key bytes)."""
    name, _kid, b64 = path.read_text().strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    return name, raw[0], raw[1:]


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def root_from_inclusion(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2, written independently of provlog."""
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


def sig_structure(phdr_bytes, payload):
    return cbor2.dumps(["Signature1", phdr_bytes, b"", payload])


def cose_thumbprint(ktype, pk):
    """RFC 9679 over the required members, deterministic CBOR via cbor2."""
    if ktype in (0x01, 0x04):
        m = {1: 1, -1: 6, -2: pk}
    else:
        m = {1: 7, 3: -48, -1: pk}
    return hashlib.sha256(cbor2.dumps(m, canonical=True)).digest()


def verify_cose(raw, payload, keys, what):
    """Verify one COSE_Sign1 (bytes) over `payload` with the key its kid or
    alg selects; EdDSA with pycose, ML-DSA-44 with dilithium-py."""
    tag = cbor2.loads(raw)
    assert isinstance(tag, cbor2.CBORTag) and tag.tag == 18, f"{what}: not COSE_Sign1"
    phdr_bytes, _uhdr, _payload, sig = tag.value
    phdr = cbor2.loads(phdr_bytes)
    alg = phdr[1]
    if alg == -8:
        msg = Sign1Message.decode(raw)
        msg.payload = payload
        ok = False
        for name, ktype, pk in keys:
            if ktype in (0x01, 0x04):
                msg.key = OKPKey(crv=Ed25519, x=pk)
                try:
                    if msg.verify_signature():
                        ok = True
                        break
                except Exception:
                    pass
        assert ok, f"{what}: pycose EdDSA verification failed"
        print(f"ok   {what}: EdDSA signature verified by pycose")
    elif alg == -48:
        ok = any(
            ML_DSA_44.verify(pk, sig_structure(phdr_bytes, payload), sig)
            for _, ktype, pk in keys
            if ktype == 0x06
        )
        assert ok, f"{what}: ML-DSA-44 verification failed"
        print(f"ok   {what}: ML-DSA-44 signature verified by dilithium-py")
    else:
        raise AssertionError(f"{what}: unexpected alg {alg}")
    return phdr


def check_receipt(raw, entry, log_keys, what):
    tag = cbor2.loads(raw)
    phdr_bytes, uhdr, payload, _sig = tag.value
    assert payload is None, f"{what}: payload must be detached (nil)"
    phdr = cbor2.loads(phdr_bytes)
    assert phdr[VDS] == 1, f"{what}: vds must be RFC9162_SHA256"
    proofs = uhdr[VDP][-1]
    assert len(proofs) == 1
    size, index, path = cbor2.loads(proofs[0])
    root = root_from_inclusion(leaf_hash(entry), index, size, path)
    # kid = RFC 9679 thumbprint of the signing log key; iss = its name.
    kid = phdr[4]
    matching = [k for k in log_keys if cose_thumbprint(k[1], k[2]) == kid]
    assert matching, f"{what}: kid is no log key's thumbprint"
    assert phdr[CWT][1] == matching[0][0], f"{what}: iss is not the log origin"
    assert phdr[CWT][2] == f"{matching[0][0]}/{size}", f"{what}: sub"
    verify_cose(raw, root, matching, what)
    print(f"ok   {what}: inclusion of leaf {index} in tree of size {size}")


def main():
    sys.stdout.reconfigure(line_buffering=True)
    d = Path(sys.argv[1])
    log_keys = [vkey(d / "keys/log.vkey"), vkey(d / "keys/log-mldsa.vkey")]
    vendors = [vkey(d / "keys/vendor.vkey"), vkey(d / "keys/vendor-mldsa.vkey")]
    s = d / "scitt"

    # Signed statements: CWT claims iss/sub, signatures.
    for name in ["statement-0.cose", "statement-1.mldsa.cose", "statement-2.cose"]:
        raw = (s / name).read_bytes()
        tag = cbor2.loads(raw)
        phdr = cbor2.loads(tag.value[0])
        assert tag.value[1] == {}, f"{name}: unprotected header must be empty"
        iss, sub = phdr[CWT][1], phdr[CWT][2]
        kid = phdr[4].decode()
        assert kid.split("+", 1)[0] == iss, f"{name}: iss is the kid's key name"
        assert sub.startswith("ni:///sha-256;"), f"{name}: sub is an ni URI"
        verify_cose(raw, tag.value[2], vendors, name)

    entry = (s / "statement-1.mldsa.cose").read_bytes()
    for name in ["receipt-1.cose", "receipt-1.mldsa.cose"]:
        check_receipt((s / name).read_bytes(), entry, log_keys, name)

    # Transparent statement: receipts in header 394; the leaf is the
    # statement with an empty unprotected header, re-encoded here by cbor2.
    # (pycose cannot decode a message whose alg is ML-DSA-44 (-48), which
    # this statement's is, so the envelope is read with cbor2.)
    ts = (s / "transparent-statement-1.cose").read_bytes()
    tag = cbor2.loads(ts)
    assert tag.tag == 18
    phdr_bytes, uhdr, payload, sig = tag.value
    assert list(uhdr.keys()) == [RECEIPTS], "unprotected header is exactly {394: [...]}"
    receipts = uhdr[RECEIPTS]
    assert len(receipts) == 2
    leaf_entry = cbor2.dumps(cbor2.CBORTag(18, [phdr_bytes, {}, payload, sig]))
    assert leaf_entry == entry, "statement bytes (the leaf) differ"
    print("ok   transparent statement: leaf = statement with empty unprotected header")
    verify_cose(leaf_entry, payload, vendors, "transparent statement signature")
    for i, r in enumerate(receipts):
        check_receipt(r, leaf_entry, log_keys, f"transparent statement receipt {i}")

    # COSE_KeySet: each key's kid is its thumbprint.
    keyset = cbor2.loads((d / "scitt/scitt-keys.cbor").read_bytes())
    assert len(keyset) == 2
    for k, (_name, ktype, pk) in zip(keyset, log_keys):
        raw_pk = k[-2] if k[1] == 1 else k[-1]
        assert raw_pk == pk and k[2] == cose_thumbprint(ktype, pk)
    print("ok   scitt-keys: COSE_KeySet kids are RFC 9679 thumbprints")
    print("all SCITT vectors verified independently")


if __name__ == "__main__":
    main()
