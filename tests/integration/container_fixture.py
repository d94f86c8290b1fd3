#!/usr/bin/env python3
"""Test fixture for AiiDA 2.x profiles: a disk-objectstore container written with the standard
library only (disk-objectstore itself is not a test dependency), the nodes' repository_metadata
as SQL, and checks of a container against a database's trees.

  make ROOT SEED < "id<TAB>uuid" lines    writes ROOT/container (loose objects, packs/0 and
        packs/1, compressed and not, shared content, nested and empty folders, empty files;
        about a quarter of the nodes have no files) and prints SQL on stdout: the
        repository_metadata column, each node's tree and the 'repository|uuid' setting
  add ROOT SEED < lines                   the same for more nodes (loose objects only), into the
        existing container; prints UPDATE statements
  pack ROOT [--keep-loose]                as `verdi storage maintain`: every loose object into
        a new pack (every other one compressed), listed in packs.idx, loose copies deleted
        (--keep-loose: kept, as between maintain's two steps)
  check ROOT < "id<TAB>metadata" lines    every key of every tree resolves (loose first, then
        packs.idx) to bytes whose sha256 is the key; prints "objects=N keys=K"
  set-files ROOT ID PATH=TEXT...          the node's files, as AiiDA changes a node that is not
        sealed: loose objects written, and an UPDATE of its repository_metadata (a '/' in
        PATH makes folders) that also bumps its mtime, printed on stdout
  cat ROOT KEY                            the bytes of object KEY (loose first, then packed)
  loose-keys ROOT / packed-keys ROOT      the keys stored loose / packed, one a line
  corrupt ROOT KEY / remove ROOT KEY      flip a byte of / delete the loose object KEY
  config-id ROOT                          print container_id
"""
import hashlib
import json
import os
import random
import sqlite3
import sys
import zlib

SCHEMA = (
    "CREATE TABLE db_object (\n\tid INTEGER NOT NULL, \n\thashkey VARCHAR NOT NULL, \n"
    "\tcompressed BOOLEAN NOT NULL, \n\tsize INTEGER NOT NULL, \n\toffset INTEGER NOT NULL, \n"
    "\tlength INTEGER NOT NULL, \n\tpack_id INTEGER NOT NULL, \n\tPRIMARY KEY (id)\n)"
)


def cdir(root):
    return os.path.join(root, "container")


def config(root):
    with open(os.path.join(cdir(root), "config.json")) as f:
        return json.load(f)


def index(root):
    db = sqlite3.connect(os.path.join(cdir(root), "packs.idx"))
    db.execute("PRAGMA journal_mode=wal")
    return db


def loose_path(root, key):
    p = config(root)["loose_prefix_len"]
    return os.path.join(cdir(root), "loose", key[:p], key[p:]) if p else os.path.join(cdir(root), "loose", key)


def init(root, rng):
    c = cdir(root)
    for sub in ("loose", "packs", "duplicates", "sandbox"):
        os.makedirs(os.path.join(c, sub))
    cid = "%032x" % rng.getrandbits(128)
    with open(os.path.join(c, "config.json"), "w") as f:
        json.dump({"container_version": 1, "loose_prefix_len": 2, "pack_size_target": 4 * 1024 ** 3,
                   "hash_type": "sha256", "container_id": cid, "compression_algorithm": "zlib+1"}, f)
    db = index(root)
    db.execute(SCHEMA)
    db.execute("CREATE UNIQUE INDEX ix_db_object_hashkey ON db_object (hashkey)")
    db.commit()
    db.close()
    return cid


def content(rng):
    kind = rng.random()
    if kind < 0.08:
        return b""
    if kind < 0.5:
        words = ["atoms", "kpoints", "energy", "0.125", "relax", "scf", "cell", "\n"]
        return " ".join(rng.choice(words) for _ in range(rng.randint(5, 4000))).encode()
    if kind < 0.97:
        return rng.randbytes(rng.randint(1, 20000))
    return rng.randbytes(rng.randint(4 << 20, 5 << 20))  # more than one store chunk


def put_loose(root, key, data):
    path = loose_path(root, key)
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(cdir(root), "sandbox", key)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def put_packed(root, db, pack_id, key, data, compress):
    if db.execute("SELECT 1 FROM db_object WHERE hashkey = ?", (key,)).fetchone():
        return
    stored = zlib.compress(data, 1) if compress else data
    path = os.path.join(cdir(root), "packs", str(pack_id))
    with open(path, "ab") as f:
        offset = f.tell()
        f.write(stored)
    db.execute("INSERT INTO db_object(hashkey, compressed, size, offset, length, pack_id) VALUES (?,?,?,?,?,?)",
               (key, compress, len(data), offset, len(stored), pack_id))


def tree(rng, pool, depth=0):
    children = {}
    for i in range(rng.randint(1, 4)):
        r = rng.random()
        name = rng.choice(["aiida.in", "aiida.out", "_scheduler-stdout.txt", "data file", "caf\u00e9.dat",
                           "x%d" % i, "CONTCAR", "retrieved"]) + ("" if r < 0.5 else "_%d" % i)
        if r < 0.15 and depth < 3:
            children[name] = tree(rng, pool, depth + 1)
        elif r < 0.22:
            children[name] = {}  # an empty folder
        else:
            if pool and rng.random() < 0.3:
                data = rng.choice(pool)  # shared content
            else:
                data = content(rng)
                pool.append(data)
            children[name] = {"k": hashlib.sha256(data).hexdigest(), "_data": data}
    return {"o": children}


def strip(node, out):
    """The tree without the bytes; the bytes into out (key -> data)."""
    if "k" in node:
        out[node["k"]] = node["_data"]
        return {"k": node["k"]}
    if "o" not in node:
        return {}
    return {"o": {name: strip(child, out) for name, child in node["o"].items()}}


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def make(root, seed, first):
    rng = random.Random(seed)
    cid = init(root, rng) if first else config(root)["container_id"]
    db = index(root)
    pool = []
    out = []
    if first:
        out.append("ALTER TABLE db_dbnode ADD COLUMN IF NOT EXISTS repository_metadata jsonb NOT NULL DEFAULT '{}';")
        out.append("DELETE FROM db_dbsetting WHERE key = 'repository|uuid';")
        out.append("INSERT INTO db_dbsetting(key, val, description, time) VALUES ('repository|uuid', %s,"
                   " 'container id', now());" % sql_literal(json.dumps(cid)))
    for line in sys.stdin:
        node_id, _uuid = line.rstrip("\n").split("\t")
        if rng.random() < 0.25:
            meta = {}
        else:
            objects = {}
            meta = strip(tree(rng, pool), objects)
            for key, data in objects.items():
                where = rng.random() if first else 0.0
                if where < 0.4:
                    put_loose(root, key, data)
                else:
                    put_packed(root, db, 0 if where < 0.7 else 1, key, data, where >= 0.55)
        out.append("UPDATE db_dbnode SET repository_metadata = %s WHERE id = %s;" %
                   (sql_literal(json.dumps(meta, ensure_ascii=False)), node_id))
    db.commit()
    db.close()
    print("\n".join(out))


def pack(root, keep_loose):
    db = index(root)
    pack_id = 1 + max([int(n) for n in os.listdir(os.path.join(cdir(root), "packs"))] + [-1])
    loose = os.path.join(cdir(root), "loose")
    n = 0
    for prefix in sorted(os.listdir(loose)):
        for rest in sorted(os.listdir(os.path.join(loose, prefix))):
            path = os.path.join(loose, prefix, rest)
            with open(path, "rb") as f:
                data = f.read()
            put_packed(root, db, pack_id, prefix + rest, data, n % 2 == 1)
            n += 1
    db.commit()
    for prefix in os.listdir(loose):
        for rest in os.listdir(os.path.join(loose, prefix)):
            if not keep_loose:
                os.unlink(os.path.join(loose, prefix, rest))
    db.close()
    print("packed=%d" % n)


def read_object(root, db, key):
    path = loose_path(root, key)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    row = db.execute("SELECT compressed, size, offset, length, pack_id FROM db_object WHERE hashkey = ?",
                     (key,)).fetchone()
    if row is None:
        raise SystemExit("FAIL: object %s is in neither loose/ nor packs.idx" % key)
    compressed, size, offset, length, pack_id = row
    with open(os.path.join(cdir(root), "packs", str(pack_id)), "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if compressed:
        data = zlib.decompress(data)
    if len(data) != size:
        raise SystemExit("FAIL: object %s has %d bytes, not %d" % (key, len(data), size))
    return data


def keys_of(node, out):
    if "k" in node:
        out.append(node["k"])
    for child in node.get("o", {}).values():
        keys_of(child, out)


def check(root):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(cdir(root), "packs.idx"), uri=True)
    seen = set()
    keys = 0
    for line in sys.stdin:
        _node_id, meta = line.rstrip("\n").split("\t", 1)
        found = []
        keys_of(json.loads(meta), found)
        for key in found:
            keys += 1
            if key in seen:
                continue
            if hashlib.sha256(read_object(root, db, key)).hexdigest() != key:
                raise SystemExit("FAIL: object %s does not match its key" % key)
            seen.add(key)
    print("objects=%d keys=%d" % (len(seen), keys))


def set_files(root, node_id, specs):
    meta = {"o": {}}
    for spec in specs:
        path, text = spec.split("=", 1)
        data = text.encode()
        key = hashlib.sha256(data).hexdigest()
        put_loose(root, key, data)
        *folders, name = path.split("/")
        where = meta
        for folder in folders:
            where = where["o"].setdefault(folder, {"o": {}})
        where["o"][name] = {"k": key}
    print("UPDATE db_dbnode SET repository_metadata = %s, mtime = now() WHERE id = %s;" %
          (sql_literal(json.dumps(meta)), int(node_id)))


def main():
    cmd, root = sys.argv[1], sys.argv[2]
    if cmd in ("make", "add"):
        make(root, int(sys.argv[3]), cmd == "make")
    elif cmd == "pack":
        pack(root, "--keep-loose" in sys.argv[3:])
    elif cmd == "check":
        check(root)
    elif cmd == "set-files":
        set_files(root, sys.argv[3], sys.argv[4:])
    elif cmd == "cat":
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(cdir(root), "packs.idx"), uri=True)
        sys.stdout.buffer.write(read_object(root, db, sys.argv[3]))
    elif cmd == "loose-keys":
        loose = os.path.join(cdir(root), "loose")
        for prefix in sorted(os.listdir(loose)):
            for rest in sorted(os.listdir(os.path.join(loose, prefix))):
                print(prefix + rest)
    elif cmd == "packed-keys":
        for (key,) in index(root).execute("SELECT hashkey FROM db_object ORDER BY id"):
            print(key)
    elif cmd == "corrupt":
        path = loose_path(root, sys.argv[3])
        with open(path, "r+b") as f:
            b = f.read(1)
            f.seek(0)
            f.write(bytes([b[0] ^ 0xff]))
    elif cmd == "remove":
        os.unlink(loose_path(root, sys.argv[3]))
    elif cmd == "config-id":
        print(config(root)["container_id"])
    else:
        raise SystemExit("container_fixture: unknown command '%s'" % cmd)


if __name__ == "__main__":
    main()
