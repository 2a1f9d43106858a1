#!/usr/bin/env python3
"""`mkimage build --dry-run` against the real build over a mutation corpus
(tests/e2e/build_dry_run.sh runs this; issue 13, must show 1).

For every build of the corpus: the dry run's predicted outcome of every step
(--progress json "predicted" events), then the real build's (--progress json:
"cached" = reused, "done" = ran); they must agree on every step, every
predicted first miss ("miss") must carry the very reason the build's
"started" event gives (miss_reason; docs/cache.md "Why a step ran"), and the dry run
must leave the store byte for byte as it was (every file's path, type, mode,
size, mtime and sha256, and every index table's row count).

Corpus: testdata/cache-order (both Dockerfile orderings, its edit history),
some shared cases (testdata/handed/cases: cold, warm, a context edit), then
random mutations of a generated project: edit, add, remove or chmod a context
file, change an ARG (--build-arg), change the base image (two local images
built here), edit an instruction, reorder two instructions. The RNG seed is
printed; DRY_RUN_SEED=N replays it, DRY_RUN_MUTATIONS=N sets the count,
DRY_RUN_REASONS=1 lists the miss reasons compared.
"""
import hashlib
import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import time

MKIMAGE = os.environ["MKIMAGE"]
SRC = os.environ["MKIMAGE_SOURCE_DIR"]
HANDED = os.environ.get("MKIMAGE_HANDED_DIR", os.path.join(SRC, "testdata/handed"))
ROOT = os.environ["MKIMAGE_ROOT"]
WORK = os.getcwd()

stats = {"builds": 0, "steps": 0, "cached": 0, "ran": 0, "reasons": 0, "reason_texts": set(), "mutations": {}}


def fail(msg):
    print("build_dry_run: FAIL: " + msg, flush=True)
    sys.exit(1)


def store_state():
    """Every entry under the store root (path, type, mode; for files size,
    mtime, inode and, outside blobs/ and snapshots/, sha256) and every index
    table's row count. index.db-shm is left out: it is SQLite's shared-memory
    index of the write-ahead log, which every reader of a WAL database updates
    (the index keeps its WAL between commands); the index's content is
    index.db + index.db-wal, both compared."""
    entries = []
    for top, dirs, files in os.walk(ROOT):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(top, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, ROOT)
            if rel == "index.db-shm":
                continue
            if stat.S_ISREG(st.st_mode):
                # Blobs and snapshot files are never rewritten in place (a write
                # would change mtime or inode): hashed are the index and the rest.
                digest = ""
                if not rel.startswith(("blobs/", "snapshots/")):
                    with open(p, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                entries.append((rel, "f", st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, digest))
            elif stat.S_ISLNK(st.st_mode):
                entries.append((rel, "l", st.st_mode, os.readlink(p)))
            else:
                entries.append((rel, "d", st.st_mode))
    counts = {}
    db = os.path.join(ROOT, "index.db")
    if os.path.exists(db):
        # immutable=1: read without locks or -shm/-wal files (nothing written).
        con = sqlite3.connect("file:%s?immutable=1" % db, uri=True)
        for (table,) in con.execute("select name from sqlite_master where type='table'"):
            counts[table] = con.execute('select count(*) from "%s"' % table).fetchone()[0]
        con.close()
    return entries, counts


def run(args, what):
    p = subprocess.run([MKIMAGE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail("%s: exit %d\n%s\n%s" % (what, p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def step_id(e):
    return (e["stage_index"], e["line"], e["name"])


def check(label, context, dockerfile, args=()):
    """Dry run, then the real build; every step must agree."""
    common = ["-f", dockerfile] + [x for a in args for x in ("--build-arg", a)] + [context]
    before = store_state()
    events = run(["build", "--dry-run", "--progress", "json"] + common, label + ": dry run")
    after = store_state()
    if before != after:
        a, b = set(before[0]), set(after[0])
        fail("%s: the dry run changed the store: +%s -%s counts %s -> %s"
             % (label, sorted(b - a)[:5], sorted(a - b)[:5], before[1], after[1]))
    predicted, reasons = {}, {}
    for e in events:
        if e["event"] == "predicted":
            predicted[step_id(e)] = e["outcome"]
            reasons[step_id(e)] = e.get("reason", "")
    if not any(e["event"] == "dry_run" for e in events):
        fail("%s: no dry_run event" % label)
    events = run(["build", "--progress", "json"] + common, label + ": build")
    real, names, real_reasons = {}, {}, {}
    for e in events:
        if e["event"] not in ("started", "cached", "done") or e["label"].startswith("[internal]") or e["line"] == 0:
            continue
        k = step_id(e)
        names[k] = e["label"] + " " + e["name"]
        if e["event"] == "started":
            real_reasons[k] = e.get("miss_reason", "")
        if e["event"] == "cached":
            real[k] = "cached"
        elif e["event"] == "done" and real.get(k) != "cached":
            real[k] = "ran"
    if set(predicted) != set(real):
        fail("%s: steps differ: dry run %s, build %s" % (label, sorted(predicted), sorted(real)))
    for k, outcome in predicted.items():
        if k[2].startswith("FROM "):
            # FROM of a base in the store: resolved, not run (the build shows it DONE).
            if outcome != "cached":
                fail("%s: %s predicted %s, the base is in the store" % (label, names[k], outcome))
            continue
        want = "cached" if real[k] == "cached" else "ran"
        got = {"cached": "cached", "miss": "ran", "would_run": "ran"}.get(outcome, outcome)
        if got != want:
            fail("%s: %s: dry run says %s, the build %s" % (label, names[k], outcome, real[k]))
        if outcome == "miss":
            # The first miss of a chain: the dry run names the build's reason, word for word.
            if reasons[k] != real_reasons.get(k, ""):
                fail("%s: %s: dry run says MISS: %r, the build MISS: %r"
                     % (label, names[k], reasons[k], real_reasons.get(k, "")))
            if not reasons[k]:
                fail("%s: %s: the build and the dry run name no miss reason" % (label, names[k]))
            stats["reasons"] += 1
            stats["reason_texts"].add(reasons[k])
        stats["steps"] += 1
        stats[want] += 1
    stats["builds"] += 1


def with_busybox(d):
    shutil.copy("/bin/busybox", os.path.join(d, "busybox"))
    os.chmod(os.path.join(d, "busybox"), 0o755)


def cache_order():
    app = os.path.join(WORK, "cache-order")
    shutil.copytree(os.path.join(SRC, "testdata/cache-order"), app, symlinks=True)
    with_busybox(app)
    edits = [None, lambda: append(os.path.join(app, "src/util.sh"), 'echo "edited"\n'),
             lambda: append(os.path.join(app, "deps.txt"), "lodash 4.17.21\n"), None]
    for i, edit in enumerate(edits):
        if edit:
            edit()
        for df in ("naive", "ordered"):
            check("cache-order %s #%d" % (df, i), app, os.path.join(app, "Dockerfile." + df))


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


HANDED_CASES = ["03-heredoc-copy", "04-arg-scope", "06-var-modifiers",
                "11-dockerignore-exceptions", "12-cache-copy-key", "14-cache-copy-from", "16-workdir-user",
                "17-entrypoint-cmd-config"]


def handed_cases():
    for case in HANDED_CASES:
        d = os.path.join(WORK, "case-" + case)
        src = os.path.join(HANDED, "cases", case)
        if os.path.isdir(os.path.join(src, "context")):
            shutil.copytree(os.path.join(src, "context"), d, symlinks=True)
        else:
            os.makedirs(d)
        with_busybox(d)
        df = os.path.join(src, "Dockerfile")
        check(case + " cold", d, df)
        check(case + " warm", d, df)
        files = [os.path.join(t, f) for t, _, fs in os.walk(d) for f in fs
                 if f != "busybox" and not os.path.islink(os.path.join(t, f))]
        if files:
            append(sorted(files)[0], "edited\n")
            check(case + " edited", d, df)


# ---- random mutations of a generated project --------------------------------

BASE_DF = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'


def make_bases():
    d = os.path.join(WORK, "bases")
    os.makedirs(d)
    with_busybox(d)
    with open(os.path.join(d, "Dockerfile.1"), "w") as f:
        f.write(BASE_DF)
    with open(os.path.join(d, "Dockerfile.2"), "w") as f:
        f.write(BASE_DF + "RUN echo two > /base-two\n")
    for n in ("1", "2"):
        run(["build", "-q", "-t", "dryrun-base" + n, "-f", os.path.join(d, "Dockerfile." + n), d], "base " + n)


class Project:
    def __init__(self, rng):
        self.rng = rng
        self.dir = os.path.join(WORK, "project")
        os.makedirs(os.path.join(self.dir, "sub"))
        self.base = "dryrun-base1"
        self.arg = "1"
        self.lines = [
            # The RUN comes early (a file edit then re-runs COPYs only: fewer
            # runc starts); reorders move it about.
            "ARG V=0",
            "ENV E=0",
            "RUN echo $V $E > /v; cat /f0 >> /v 2>/dev/null; true",  # runs wherever a reorder puts it
            "COPY f0 /f0",
            "COPY sub /sub",
            "WORKDIR /w",
            "COPY f1 f2 ./",
            "COPY . /all",
        ]
        for name in ("f0", "f1", "f2", "sub/a", "sub/b"):
            self.write(name, "initial %s\n" % name)
        self.extra = 0

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def dockerfile(self):
        p = os.path.join(WORK, "Dockerfile.project")
        with open(p, "w") as f:
            f.write("FROM %s\n%s\n" % (self.base, "\n".join(self.lines)))
        return p

    def files(self):
        return sorted(os.path.relpath(os.path.join(t, f), self.dir) for t, _, fs in os.walk(self.dir) for f in fs)

    # Each mutation returns its kind (small value sets: states come back, so hits come back too).
    def edit_file(self):
        name = self.rng.choice(self.files())
        self.write(name, "v%d %s\n" % (self.rng.randrange(3), name))
        return "edit file"

    def add_file(self):
        self.extra += 1
        self.write(self.rng.choice(["", "sub/"]) + "new%d" % self.extra, "new\n")
        return "add file"

    def remove_file(self):
        removable = [f for f in self.files() if f.startswith("new") or f.startswith("sub/new") or f == "sub/b"]
        if not removable:
            return self.add_file()
        os.remove(os.path.join(self.dir, self.rng.choice(removable)))
        return "remove file"

    def chmod_file(self):
        p = os.path.join(self.dir, self.rng.choice(self.files()))
        os.chmod(p, os.stat(p).st_mode ^ 0o111)
        return "chmod file"

    def change_arg(self):
        self.arg = str(self.rng.randrange(3))
        return "build arg"

    def change_base(self):
        self.base = "dryrun-base2" if self.base == "dryrun-base1" else "dryrun-base1"
        return "base image"

    def edit_instruction(self):
        i = self.rng.randrange(len(self.lines))
        line = self.lines[i]
        if line.startswith("ENV E="):
            self.lines[i] = "ENV E=%d" % self.rng.randrange(3)
        elif line.startswith("RUN "):
            self.lines[i] = self.rng.choice(["RUN echo $V $E > /v; cat /f0 >> /v 2>/dev/null; true",
                                             "RUN echo $V > /v; true"])
        elif line.startswith("WORKDIR"):
            self.lines[i] = "WORKDIR " + self.rng.choice(["/w", "/w2"])
        elif line.startswith("ARG V="):
            self.lines[i] = "ARG V=%d" % self.rng.randrange(2)
        elif len(self.lines) < 14:
            self.lines.insert(i + 1, "LABEL n=%d" % self.rng.randrange(2))
        else:
            self.lines = [l for l in self.lines if not l.startswith("LABEL")]
        return "edit instruction"

    def reorder(self):
        i = self.rng.randrange(len(self.lines) - 1)
        self.lines[i], self.lines[i + 1] = self.lines[i + 1], self.lines[i]
        return "reorder"

    def mutate(self):
        kinds = [self.edit_file, self.add_file, self.remove_file, self.chmod_file, self.change_arg,
                 self.change_base, self.edit_instruction, self.reorder]
        return self.rng.choice(kinds)()


def mutations(count, seed):
    make_bases()
    rng = random.Random(seed)
    p = Project(rng)
    with_busybox(p.dir)
    check("project start", p.dir, p.dockerfile(), ["V=" + p.arg])
    for n in range(count):
        kind = p.mutate()
        stats["mutations"][kind] = stats["mutations"].get(kind, 0) + 1
        check("mutation %d (%s, seed %d)" % (n + 1, kind, seed), p.dir, p.dockerfile(), ["V=" + p.arg])


def main():
    seed = int(os.environ.get("DRY_RUN_SEED") or random.SystemRandom().randrange(1 << 31))
    count = int(os.environ.get("DRY_RUN_MUTATIONS") or 200)
    print("build_dry_run: seed %d (DRY_RUN_SEED=%d replays it), %d mutations" % (seed, seed, count), flush=True)
    t0 = time.time()
    cache_order()
    handed_cases()
    mutations(count, seed)
    if stats["cached"] == 0 or stats["ran"] == 0:
        fail("the corpus never had both a hit and a miss: %s" % stats)
    if stats["reasons"] == 0:
        fail("the corpus never had a miss to explain: %s" % stats)
    print("build_dry_run: %d builds, %d steps agree (%d cached, %d ran), %d miss reasons agree (%d distinct), "
          "mutations %s, %.0fs" % (stats["builds"], stats["steps"], stats["cached"], stats["ran"], stats["reasons"],
                                   len(stats["reason_texts"]), stats["mutations"], time.time() - t0))
    if os.environ.get("DRY_RUN_REASONS"):
        print("build_dry_run: reasons seen: %s" % sorted(stats["reason_texts"]))


main()
