#!/usr/bin/env bash
# Runs the engine-config regexes where the engine runs them:
# - java.util.regex as a freshly started engine runs it: interpreted (-Xint:
#   no method is compiled yet on a fresh JVM), on a thread with HotSpot's
#   default 1 MiB stack (the engine sets none), on values of every repetitive
#   shape up to CHARS characters;
# - in Java and in the VM dialog's JavaScript (node), over every value the
#   project's tests use, against the parser (tests/it/regex_agreement.rs).
#
# usage: tests/engine-regex/run.sh [--regexes FILE] [--max CHARS] [--agree FILE]
#   --regexes FILE  name=regex lines to measure (default: the ones that
#                   `vdsm-hook-largeguest engine-config` prints)
#   --max CHARS     longest value tried (default 4000: the engine stores all
#                   of a VM's properties, names included, in 4000 characters)
#   --agree FILE    also check that FILE's regexes (an older version, say)
#                   accept exactly the same values as the measured ones
# Exits non-zero when a regex overflows on a value of at most CHARS
# characters, refuses one of the repetitive values, or disagrees with the
# parser in either language.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

regexes='' max=4000 agree=''
while [ $# -gt 0 ]; do
    case $1 in
        --regexes) regexes=$2; shift 2 ;;
        --max) max=$2; shift 2 ;;
        --agree) agree=$2; shift 2 ;;
        *) echo "usage: $0 [--regexes FILE] [--max CHARS] [--agree FILE]" >&2; exit 64 ;;
    esac
done

"$repo/packaging/install-deps.sh" java:java-17-openjdk-headless:openjdk-17-jdk-headless \
    node:nodejs:nodejs

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "$regexes" ]; then
    regexes=$work/engine-config.txt
    (cd "$repo" && cargo run -q -- engine-config --current '') | python3 -c '
import shlex, sys
line = next(l for l in sys.stdin if l.startswith("engine-config "))
setting = next(w for w in shlex.split(line) if w.startswith("UserDefinedVMProperties="))
print("\n".join(setting.split("=", 1)[1].split(";")))
' >"$regexes"
fi

status=0
echo "--- longest repetitive values that match, up to $max characters"
java -Xint -Xss1m "$here/RegexDepth.java" limits "$regexes" "$max" | tee "$work/limits.txt" || status=1
if grep -v '^#' "$work/limits.txt" | grep -qv "none up to $max chars"; then
    echo "FAILED: a value of at most $max characters overflows or is refused"
    status=1
fi
echo "--- the engine's own checks before the regexes"
java -Xint -Xss1m "$here/RegexDepth.java" engine-syntax "$max" || status=1
echo "--- the parser's answers, in Java and in the VM dialog's JavaScript"
(cd "$repo" && cargo test -q --locked --test it -- --ignored --nocapture regex_agreement::) || status=1
if [ -n "$agree" ]; then
    echo "--- same values accepted by $regexes and $agree"
    java "$here/RegexDepth.java" agree "$regexes" "$agree" || status=1
fi
exit $status
