#!/usr/bin/python3
"""Rewrite OCI layouts for the registry tests.

  layouttool.py zstd SRC DEST
      SRC's single image with every gzip layer recompressed with zstd (the
      zstd command); the config is unchanged, so the image ID is SRC's.
  layouttool.py index DEST HOSTARCH IMAGE1 OTHERARCH IMAGE2
      One image, tag latest: an index naming IMAGE1's manifest for
      linux/HOSTARCH, IMAGE2's for linux/OTHERARCH/v1, and an attestation
      entry (unknown/unknown) that points at IMAGE1's manifest.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

IDX = "application/vnd.oci.image.index.v1+json"


def put(dest, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    p = os.path.join(dest, "blobs", "sha256", d[7:])
    with open(p, "wb") as f:
        f.write(data)
    return d


def get(src, digest):
    with open(os.path.join(src, "blobs", "sha256", digest[7:]), "rb") as f:
        return f.read()


def top(src):
    with open(os.path.join(src, "index.json")) as f:
        return json.load(f)["manifests"][0]


def start(dest, srcs):
    os.makedirs(os.path.join(dest, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(dest, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    for s in srcs:
        for b in os.listdir(os.path.join(s, "blobs", "sha256")):
            shutil.copyfile(os.path.join(s, "blobs", "sha256", b), os.path.join(dest, "blobs", "sha256", b))


def finish(dest, desc):
    desc = dict(desc)
    desc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(dest, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [desc]}, f)


def zstd(src, dest):
    start(dest, [src])
    t = top(src)
    m = json.loads(get(src, t["digest"]))
    for layer in m["layers"]:
        raw = gzip.decompress(get(src, layer["digest"]))
        z = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        layer["digest"] = put(dest, z)
        layer["size"] = len(z)
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
    data = json.dumps(m).encode()
    finish(dest, {"mediaType": t["mediaType"], "digest": put(dest, data), "size": len(data)})


def index(dest, hostarch, img1, otherarch, img2):
    start(dest, [img1, img2])
    t1, t2 = top(img1), top(img2)
    d1 = {"mediaType": t1["mediaType"], "digest": t1["digest"], "size": t1["size"]}
    d2 = {"mediaType": t2["mediaType"], "digest": t2["digest"], "size": t2["size"]}
    entries = [
        dict(d1, platform={"os": "linux", "architecture": hostarch}),
        dict(d2, platform={"os": "linux", "architecture": otherarch, "variant": "v1"}),
        dict(d1, platform={"os": "unknown", "architecture": "unknown"},
             annotations={"vnd.docker.reference.type": "attestation-manifest",
                          "vnd.docker.reference.digest": t1["digest"]}),
    ]
    data = json.dumps({"schemaVersion": 2, "mediaType": IDX, "manifests": entries}).encode()
    finish(dest, {"mediaType": IDX, "digest": put(dest, data), "size": len(data)})


if __name__ == "__main__":
    if sys.argv[1] == "zstd":
        zstd(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "index":
        index(*sys.argv[2:7])
    else:
        sys.exit("usage: layouttool.py zstd SRC DEST | index DEST HOSTARCH IMG1 OTHERARCH IMG2")
