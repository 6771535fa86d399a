#!/usr/bin/env bash
# freqsens entry point: sets up a virtual environment (once) and runs a job. Without arguments: this usage.
#   ./run.sh main [NAME] [--flag ...]  set up, then run the main job: all experiments, quick preset, embedded
#                     data, 3 seeds, 2 workers, report in results/quick/report.md; given flags override those
#                     defaults one by one (a NAME such as depth replaces "all")
#   ./run.sh test     set up, then run the test suite (what CI runs) on FREQSENS_TEST_WORKERS processes
#                     (default 2; pytest-xdist); ./run.sh test -m slow: the long runs
#   ./run.sh setup    set up only
#   ./run.sh COMMAND ...  set up, then run one freqsens command in the environment (the same as
#                     .venv/bin/freqsens COMMAND): experiments, report, train, sensitivity, analyze, stats, check,
#                     conjecture, bench, throughput, gpu-check (table: infra/commands.py); ./run.sh python ARGS
#                     for anything else
# Environment: FREQSENS_VENV (default ./.venv), PYTHON (default python3),
#              FREQSENS_TORCH (torch requirement used only when no torch is importable;
#              default torch==2.13.0, a CPU build here).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${FREQSENS_VENV:-$here/.venv}
py=${PYTHON:-python3}
torch_req=${FREQSENS_TORCH:-torch==2.13.0}

setup() {
    if [ ! -x "$venv/bin/python" ]; then
        echo "[freqsens] creating virtual environment at $venv" >&2
        # --system-site-packages: a torch the user already has stays visible and is kept.
        "$py" -m venv --system-site-packages "$venv"
    fi
    local vpy="$venv/bin/python" stamp="$venv/.freqsens-setup" want
    want=$(cat "$here/pyproject.toml" "$here/run.sh" | sha256sum | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ] && "$vpy" -c "import theory, torch, cvxpy" 2>/dev/null; then
        return 0  # already set up: idempotent, nothing reinstalled
    fi
    if ! "$vpy" -c "import torch" 2>/dev/null; then
        echo "[freqsens] no torch importable: installing $torch_req" >&2
        "$vpy" -m pip install --quiet "$torch_req"
    fi
    echo "[freqsens] installing freqsens and its dependencies" >&2
    "$vpy" -m pip install --quiet -e "$here[dev]"
    echo "$want" > "$stamp"
}

usage() {   # the header comment, whole: from line 2 to the last comment line before the code
    sed -n '2,/^set -euo pipefail/p' "$here/run.sh" | sed '$d' | sed 's/^# \{0,1\}//'
}

if [ $# -eq 0 ]; then usage; exit 0; fi
cmd=$1
shift
case "$cmd" in
    setup) setup ;;
    main)  setup; cd "$here"
           name=all
           if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then name=$1; shift; fi
           # defaults first: argparse keeps the last value, so the user's flags win one by one
           exec "$venv/bin/freqsens" experiments "$name" --preset quick --seeds 3 --workers 2 \
                --out results/quick "$@" ;;
    test)  setup; cd "$here"   # the suite over FREQSENS_TEST_WORKERS processes (default 2, one torch thread each)
           exec "$venv/bin/python" -m pytest -n "${FREQSENS_TEST_WORKERS:-2}" "$@" ;;
    experiments|report|train|sensitivity|analyze|stats|check|conjecture|bench|throughput|gpu-check)
           setup; exec "$venv/bin/freqsens" "$cmd" "$@" ;;
    python) setup; exec "$venv/bin/python" "$@" ;;
    help|-h|--help) usage ;;
    *) verbs="main test setup experiments report train sensitivity analyze stats check conjecture bench throughput gpu-check python help"
       near=$("$py" -c 'import difflib, sys; m = difflib.get_close_matches(sys.argv[1], sys.argv[2].split(), 1, 0.6); print(m[0] if m else "")' "$cmd" "$verbs" 2>/dev/null || true)
       echo "./run.sh: unknown verb '$cmd'${near:+ (did you mean '$near'?)}; expected one of: ${verbs// /, }" >&2
       exit 2 ;;
esac
