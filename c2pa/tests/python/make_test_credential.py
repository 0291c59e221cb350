#!/usr/bin/env python3
"""Makes a throw-away C2PA signing credential (a test CA and an end-entity
ES256 certificate with the key usages C2PA validators require) and,
optionally, a sample picture to sign. For trying the C2PA flow in the README;
never for production (the CA is not on any C2PA trust list).

  make_test_credential.py DIR [--org NAME] [--sample-png FILE]

Writes DIR/chain.pem (signer certificate, then the CA), DIR/key.pem (PKCS#8)
and DIR/ca.pem (the trust anchor, for --c2pa-trust-anchors). Needs the
`cryptography` package (installed with c2pa-python).
"""
import argparse
import datetime
import math
import os
import struct
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def credential(out, org):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provlog test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    ee = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org} C2PA signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    os.makedirs(out, exist_ok=True)
    pem = serialization.Encoding.PEM
    with open(os.path.join(out, "chain.pem"), "wb") as f:
        f.write(ee.public_bytes(pem) + ca.public_bytes(pem))
    with open(os.path.join(out, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(out, "key.pem"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
        os.chmod(f.name, 0o600)


def sample_png(path, w=480, h=320):
    """A colourful test picture, PNG, written without any imaging library."""
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            fx, fy = x / w, y / h
            d = (fx - 0.4) ** 2 + (fy - 0.5) ** 2
            rows += bytes((
                int(128 + 127 * math.sin(6 * fx)),
                int(128 + 127 * math.cos(5 * fy)),
                240 if d < 0.04 else int(255 * fx * fy),
            ))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--org", default="Example AI")
    p.add_argument("--sample-png")
    a = p.parse_args()
    credential(a.dir, a.org)
    print(f"wrote {a.dir}/chain.pem, {a.dir}/key.pem, {a.dir}/ca.pem")
    if a.sample_png:
        sample_png(a.sample_png)
        print(f"wrote {a.sample_png}")


if __name__ == "__main__":
    main()
