#!/usr/bin/env python3
"""Builds the soft-binding evaluation set from real photographs shipped in a
package (scikit-image's bundled sample images; `pip install scikit-image`,
nothing is downloaded at run time).

  make_dataset.py OUT

Distinct images: every bundled photograph large enough, and its four
quadrants (each a different picture), grouped by source photograph. Each is
written as a registered original `OUT/orig/<id>.jpg` (JPEG q90 with an EXIF
block, as a camera or generator would write it) and as the copies a verifier
meets, `OUT/q/<id>__<transform>.<ext>`:

  jpeg50      re-encoded as JPEG quality 50
  resize50    resized to 50% (Lanczos), JPEG q90
  crop5       5% cropped off: 2.5% from each edge, JPEG q90
  crop5corner 5% of width cut from the right and 5% of height from the bottom, JPEG q90
  screenshot  shown at 80% (bilinear) and captured as PNG (RGBA)
  stripped    the original JPEG with its APPn metadata segments removed
              (pixels unchanged, bytes different)

`OUT/groups.tsv` maps each id to its source photograph.
"""
import io
import os
import sys

import skimage
from PIL import Image

PHOTOS = [
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
    "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
    "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png",
    "page.png", "retina.jpg", "rocket.jpg", "text.png",
]
# Not photographs, left out: color.png (synthetic), logo.png, horse.png
# (a silhouette), chessboard_*, phantom.png.


def strip_app_segments(jpeg: bytes) -> bytes:
    """Drops APP1..APP15 and COM segments (EXIF, XMP, C2PA, comments)."""
    assert jpeg[:2] == b"\xff\xd8"
    out = bytearray(b"\xff\xd8")
    i = 2
    while i < len(jpeg):
        if jpeg[i] != 0xFF:
            raise ValueError("bad marker")
        marker = jpeg[i + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out += jpeg[i:]
            break
        length = int.from_bytes(jpeg[i + 2:i + 4], "big")
        seg = jpeg[i:i + 2 + length]
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += seg
        i += 2 + length
    return bytes(out)


def jpeg(img, q, exif=None):
    b = io.BytesIO()
    kw = {"quality": q}
    if exif is not None:
        kw["exif"] = exif
    img.save(b, "JPEG", **kw)
    return b.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "orig"), exist_ok=True)
    os.makedirs(os.path.join(out, "q"), exist_ok=True)
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    groups = []
    for name in PHOTOS:
        path = os.path.join(data, name)
        if not os.path.exists(path):
            continue
        src = Image.open(path).convert("RGB")
        base = os.path.splitext(name)[0]
        items = [(base, src)]
        w, h = src.size
        if min(w, h) >= 256:
            for k, (x, y) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
                box = (x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2)
                items.append((f"{base}-q{k}", src.crop(box)))
        for ident, img in items:
            groups.append((ident, base))
            exif = Image.Exif()
            exif[0x010F] = "provlog test camera"  # Make
            exif[0x0131] = "make_dataset.py"  # Software
            orig = jpeg(img, 90, exif.tobytes())
            with open(os.path.join(out, "orig", f"{ident}.jpg"), "wb") as f:
                f.write(orig)
            im = Image.open(io.BytesIO(orig)).convert("RGB")
            w2, h2 = im.size
            q = os.path.join(out, "q", ident + "__")
            with open(q + "jpeg50.jpg", "wb") as f:
                f.write(jpeg(im, 50))
            with open(q + "resize50.jpg", "wb") as f:
                f.write(jpeg(im.resize((max(1, w2 // 2), max(1, h2 // 2)), Image.LANCZOS), 90))
            dx, dy = round(w2 * 0.025), round(h2 * 0.025)
            with open(q + "crop5.jpg", "wb") as f:
                f.write(jpeg(im.crop((dx, dy, w2 - dx, h2 - dy)), 90))
            with open(q + "crop5corner.jpg", "wb") as f:
                f.write(jpeg(im.crop((0, 0, w2 - 2 * dx, h2 - 2 * dy)), 90))
            shot = im.resize((max(1, w2 * 4 // 5), max(1, h2 * 4 // 5)), Image.BILINEAR)
            shot.convert("RGBA").save(q + "screenshot.png", "PNG")
            with open(q + "stripped.jpg", "wb") as f:
                f.write(strip_app_segments(orig))
    with open(os.path.join(out, "groups.tsv"), "w") as f:
        for ident, base in groups:
            f.write(f"{ident}\t{base}\n")
    print(f"{len(groups)} distinct images from {len(set(b for _, b in groups))} photographs in {out}")


if __name__ == "__main__":
    main()
