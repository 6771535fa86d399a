"""Run many invocations of one CLI's ``main(argv)``, each in its own forked child process (a real
subprocess: its own exit status, stdout, stderr, environment), after importing the CLI once.

    python tests/cli_harness.py COMMAND CASES_JSON  ->  JSON list of {code, stdout, stderr, changed}

A case is ``{"argv": [...], "env": {...}, "watch": PATH}``; ``changed`` lists the files under ``watch``
that the invocation created, removed or modified (by size and mtime).
"""
import importlib
import json
import os
import sys
import tempfile
import traceback


def _stat(p):
    st = os.lstat(p)   # links (even loops) are recorded, not followed; a device replaced by a file changes inode
    return (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns)


def snapshot(root):
    out = {}
    if root and os.path.lexists(root):
        if not os.path.isdir(root) or os.path.islink(root):
            return {root: _stat(root)}
        for d, _, files in os.walk(root):
            out[d] = ("dir",)
            for f in files:
                p = os.path.join(d, f)
                out[p] = _stat(p)
    return out


def run(command, cases):
    from infra.commands import COMMANDS     # the front door's table: command -> module with main(argv, prog)
    mod = importlib.import_module(COMMANDS[command][0])
    results = []
    for case in cases:
        before = snapshot(case.get("watch"))
        with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.dup2(fo.fileno(), 1)
                os.dup2(fe.fileno(), 2)
                os.environ.update(case.get("env") or {})
                try:
                    code = mod.main(case["argv"])
                    code = 0 if code is None else code
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                except BaseException:  # noqa: BLE001 - reported as a traceback, which the tests forbid
                    traceback.print_exc()
                    code = 99
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            fo.seek(0)
            fe.seek(0)
            after = snapshot(case.get("watch"))
            # the lock file's content names its latest holder: rewriting an existing one is bookkeeping, not a change
            changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)
                             and not (os.path.basename(p) == ".freqsens.lock" and p in before))
            results.append({"code": os.waitstatus_to_exitcode(status), "stdout": fo.read().decode(errors="replace"),
                            "stderr": fe.read().decode(errors="replace"), "changed": changed})
    return results


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    print(json.dumps(run(sys.argv[1], json.loads(sys.argv[2]))))
