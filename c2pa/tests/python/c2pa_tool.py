#!/usr/bin/env python3
"""Independent C2PA producer and validator for provlog's tests: c2pa-python
(the C2PA project's Python binding, from PyPI).

  c2pa_tool.py sign IN OUT --cert CHAIN.pem --key KEY.pem [--soft ALG=B64]...
      Signs IN (JPEG or PNG) with a new manifest (a c2pa.created action with
      digitalSourceType trainedAlgorithmicMedia, claim_generator_info, and
      optionally a c2pa.soft-binding assertion) and writes OUT.
  c2pa_tool.py read FILE
      Prints one JSON object: validation_state, the active manifest label,
      the failure/success status codes, and the active manifest's assertion
      labels (the receipt assertion org.provlog.receipt among them).

Exit status 0 on success; anything else is a failure the test reports.
"""
import argparse
import base64
import json
import mimetypes
import sys

import c2pa

GENERATOR = {"name": "c2pa-python-test-producer", "version": "1.0"}
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def mime(path):
    t, _ = mimetypes.guess_type(path)
    if t not in ("image/jpeg", "image/png"):
        sys.exit(f"{path}: only JPEG and PNG are used by these tests")
    return t


def sign(args):
    with open(args.cert, "rb") as f:
        cert = f.read()
    with open(args.key, "rb") as f:
        key = f.read()
    info = c2pa.C2paSignerInfo(b"es256", cert, key, None)
    signer = c2pa.Signer.from_info(info)
    assertions = [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE}
                ]
            },
        }
    ]
    if args.soft:
        blocks = []
        alg = None
        for s in args.soft:
            a, v = s.split("=", 1)
            alg = a
            blocks.append({"scope": {}, "value": v})
        assertions.append(
            {"label": "c2pa.soft-binding", "data": {"alg": alg, "blocks": blocks}}
        )
    manifest = {
        "claim_generator_info": [GENERATOR],
        "title": "provlog test asset",
        "assertions": assertions,
    }
    fmt = mime(args.input)
    builder = c2pa.Builder(manifest)
    with open(args.input, "rb") as src, open(args.output, "w+b") as dst:
        builder.sign(signer, fmt, src, dst)


def read(args):
    fmt = mime(args.file)
    with open(args.file, "rb") as f:
        reader = c2pa.Reader(fmt, f)
        store = json.loads(reader.json())
        detailed = json.loads(reader.detailed_json())
    active = store.get("active_manifest")
    results = store.get("validation_results") or {}
    am = results.get("activeManifest") or {}
    manifest = (store.get("manifests") or {}).get(active) or {}
    # The hard binding of the manifest that binds the content: the active
    # one, or the parent an update manifest refers to.
    label = active
    seen = set()
    while label and label not in seen:
        seen.add(label)
        hard = ((detailed.get("manifests") or {}).get(label) or {}).get("assertion_store", {})
        dh = hard.get("c2pa.hash.data")
        if dh is not None:
            break
        parent = [i for i in (store["manifests"][label].get("ingredients") or [])
                  if i.get("relationship") == "parentOf"]
        label = parent[0].get("active_manifest") if parent else None
        dh = None
    hard_binding = None
    if dh is not None:
        hard_binding = {
            "manifest": label,
            "alg": dh.get("alg"),
            "hash": base64.b64decode(dh["hash"]).hex(),
            "exclusions": dh.get("exclusions", []),
        }
    print(
        json.dumps(
            {
                "validation_state": store.get("validation_state"),
                "active_manifest": active,
                "failure": [s.get("code") for s in am.get("failure", [])],
                "success": [s.get("code") for s in am.get("success", [])],
                "assertions": [a.get("label") for a in manifest.get("assertions", [])],
                "hard_binding": hard_binding,
            }
        )
    )


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--soft", action="append")
    r = sub.add_parser("read")
    r.add_argument("file")
    args = p.parse_args()
    if args.cmd == "sign":
        sign(args)
    else:
        read(args)


if __name__ == "__main__":
    main()
