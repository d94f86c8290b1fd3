# archive_hostile.py GOOD.tar OUTSIDE CASE OUT.tar - writes a hostile variant of an exported plain
# tar (archive.sh): CASE names the lie. OUTSIDE is a folder that nothing may write into.
import io, json, sys, tarfile

good, outside, case, out = sys.argv[1:5]
src = tarfile.open(good)
members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
manifest = json.loads(members[0][1])
body = members[1:]
first_file = next(i for i, (m, _) in enumerate(body) if m.isfile() and m.size > 0 and m.name.startswith("repository/"))

def info(name, type_=tarfile.REGTYPE, size=0, linkname=""):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.linkname, t.mode, t.mtime = type_, size, linkname, 0o644, 1700000000
    return t

def listed(path, type_, **kw):
    e = {"path": path, "type": type_, "mode": 0o644, "mtime_ns": 1700000000 * 10**9}
    e.update(kw)
    manifest["entries"].append(e)

extra = []
if case == "dotdot":
    extra.append((info("repository/../../" + outside.lstrip("/") + "/dotdot", size=2), b"x\n"))
elif case == "absolute":
    extra.append((info(outside + "/absolute", size=2), b"x\n"))
elif case == "symlink-through":
    listed("repository/evil", "symlink", target=outside)
    listed("repository/evil/through", "file", size=2, hash="0" * 32)
    extra.append((info("repository/evil", tarfile.SYMTYPE, linkname=outside), None))
    extra.append((info("repository/evil/through", size=2), b"x\n"))
elif case == "hardlink":
    listed("repository/hard", "file", size=0, hash="0" * 32)
    extra.append((info("repository/hard", tarfile.LNKTYPE, linkname=outside + "/victim"), None))
elif case == "device":
    t = info("repository/dev", tarfile.CHRTYPE)
    t.devmajor, t.devminor = 1, 3
    extra.append((t, None))
elif case == "fifo":
    extra.append((info("repository/fifo", tarfile.FIFOTYPE), None))
elif case == "long-name":
    extra.append((info("repository/" + "n" * 5000, size=2), b"x\n"))
elif case == "not-listed":
    extra.append((info("repository/not-listed", size=2), b"x\n"))
elif case == "size-lie":
    m, data = body[first_file]
    e = next(e for e in manifest["entries"] if e["path"] == m.name)
    e["size"] = e["size"] + 1
elif case == "hash-lie":
    m, data = body[first_file]
    body[first_file] = (m, bytes([data[0] ^ 1]) + data[1:])
elif case == "missing":
    del body[first_file]
elif case == "no-manifest":
    members = members[1:]
elif case == "stray":
    listed("repository/stray", "file", size=2, hash="0" * 32)
    extra.append((info("repository/stray", size=2), b"x\n"))
elif case == "no-nodes":
    del manifest["nodes"]
elif case == "twice":
    extra.append(body[first_file])
else:
    sys.exit("unknown case " + case)

with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    text = json.dumps(manifest).encode()
    if case != "no-manifest":
        mi = info("manifest.json", size=len(text))
        t.addfile(mi, io.BytesIO(text))
    for m, data in body + extra:
        t.addfile(m, io.BytesIO(data) if data is not None else None)
