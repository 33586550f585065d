#!/usr/bin/env python3
"""Compare two images saved as docker-archives (husk save, buildah push docker-archive:).

    imgcompare.py [--history] A.tar B.tar

Prints the differences, one a line, and exits 1 when there are any:
  - the final file system (the layers applied in order, OCI whiteouts honoured): each path's
    type, mode, owner, size, link target and content digest (never times);
  - each layer's whiteouts (.wh.NAME and .wh..wh..opq), by the layer's position among the
    layers the two images do not share with their base;
  - the config members Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
    StopSignal, Healthcheck, OnBuild, Shell; and the history's length and empty_layer marks;
  - with --history, every history entry's empty_layer mark (the steps that made no layer,
    ARG among them, in order) and the flags of each RUN entry (--mount=... as written: husk
    writes "RUN FLAGS... /bin/sh -c ...", buildah "[|N ARGS...] /bin/sh -c FLAGS... ...").
Paths that the two tools make on their own (listed in IGNORE) are left out.
"""
import hashlib
import io
import json
import sys
import tarfile

# buildah leaves the mount points of /etc/hosts, /etc/resolv.conf and /run/.containerenv in
# its images (BuildKit and husk take them out).
IGNORE = {"/etc/hosts", "/etc/resolv.conf", "/run", "/run/.containerenv"}
# buildah's own label.
IGNORE_LABELS = {"io.buildah.version"}


def load(path):
    with tarfile.open(path) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        config = json.load(t.extractfile(manifest["Config"]))
        layers = []
        for name in manifest["Layers"]:
            data = t.extractfile(name).read()
            layers.append(tarfile.open(fileobj=io.BytesIO(data), mode="r:*"))
    return config, layers


def norm(name):
    name = name.lstrip("./")
    while name.endswith("/"):
        name = name[:-1]
    return "/" + name if name else "/"


def apply_layers(layers):
    fs = {}
    whiteouts = []
    for layer in layers:
        wh = []
        members = layer.getmembers()
        for m in members:
            p = norm(m.name)
            base = p.rsplit("/", 1)[1]
            parent = p.rsplit("/", 1)[0] or "/"
            if base == ".wh..wh..opq":
                wh.append("opaque " + parent)
                for k in [k for k in fs if k.startswith(parent.rstrip("/") + "/")]:
                    del fs[k]
                continue
            if base.startswith(".wh."):
                target = (parent.rstrip("/") + "/" + base[4:])
                wh.append("delete " + target)
                for k in [k for k in fs if k == target or k.startswith(target + "/")]:
                    del fs[k]
                continue
        for m in members:
            p = norm(m.name)
            base = p.rsplit("/", 1)[1]
            if base.startswith(".wh."):
                continue
            if m.isreg():
                digest = hashlib.sha256(layer.extractfile(m).read()).hexdigest()[:16]
                kind = "file"
            elif m.islnk():
                digest = "hardlink->" + norm(m.linkname)
                kind = "hardlink"
            elif m.issym():
                digest = "->" + m.linkname
                kind = "symlink"
            elif m.isdir():
                digest = ""
                kind = "dir"
            else:
                digest = "%d:%d" % (m.devmajor, m.devminor)
                kind = "node%s" % m.type.decode()
            if kind != "dir" and p in fs and fs[p].startswith("dir "):
                for k in [k for k in fs if k.startswith(p + "/")]:
                    del fs[k]
            fs[p] = "%s %04o %d:%d %d %s" % (kind, m.mode & 0o7777, m.uid, m.gid,
                                             m.size if m.isreg() else 0, digest)
        whiteouts.append(sorted(wh))
    return fs, whiteouts


KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
        "StopSignal", "Healthcheck", "OnBuild", "Shell"]


def empty(v):
    return v in (None, "", [], {})


def run_flags(created_by):
    words = (created_by or "").split()
    if words[:1] == ["RUN"]:
        words = words[1:]
    else:
        if words and words[0].startswith("|") and words[0][1:].isdigit():
            words = words[int(words[0][1:]) + 1:]
        if words[:2] == ["/bin/sh", "-c"]:
            words = words[2:]
    flags = []
    for w in words:
        if not w.startswith("--"):
            break
        flags.append(w)
    return flags


def main():
    args = sys.argv[1:]
    history = args[:1] == ["--history"]
    if history:
        args = args[1:]
    a_cfg, a_layers = load(args[0])
    b_cfg, b_layers = load(args[1])
    diffs = []
    a_fs, a_wh = apply_layers(a_layers)
    b_fs, b_wh = apply_layers(b_layers)
    for p in sorted(set(a_fs) | set(b_fs)):
        if p in IGNORE:
            continue
        if a_fs.get(p) != b_fs.get(p):
            diffs.append("file %s: %s | %s" % (p, a_fs.get(p, "missing"), b_fs.get(p, "missing")))
    # Whiteouts of the layers after the shared base ones.
    base = 0
    a_ids, b_ids = a_cfg["rootfs"]["diff_ids"], b_cfg["rootfs"]["diff_ids"]
    while base < min(len(a_ids), len(b_ids)) and a_ids[base] == b_ids[base]:
        base += 1
    if sorted(sum(a_wh[base:], [])) != sorted(sum(b_wh[base:], [])):
        diffs.append("whiteouts: %s | %s" % (sum(a_wh[base:], []), sum(b_wh[base:], [])))
    ac, bc = a_cfg.get("config") or {}, b_cfg.get("config") or {}
    for c in (ac, bc):
        for label in IGNORE_LABELS:
            (c.get("Labels") or {}).pop(label, None)
    for k in KEYS:
        av, bv = ac.get(k), bc.get(k)
        if empty(av) and empty(bv):
            continue
        if av != bv:
            diffs.append("config %s: %s | %s" % (k, json.dumps(av), json.dumps(bv)))
    ah = [bool(h.get("empty_layer")) for h in a_cfg.get("history", [])]
    bh = [bool(h.get("empty_layer")) for h in b_cfg.get("history", [])]
    if [x for x in ah if not x] != [x for x in bh if not x]:
        diffs.append("history: %d entries making layers | %d" % (ah.count(False), bh.count(False)))
    if history:
        if ah != bh:
            diffs.append("history empty_layer marks: %s | %s" % (ah, bh))
        af = [run_flags(h.get("created_by")) for h in a_cfg.get("history", [])]
        bf = [run_flags(h.get("created_by")) for h in b_cfg.get("history", [])]
        if af != bf:
            diffs.append("history RUN flags: %s | %s" % (af, bf))
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
