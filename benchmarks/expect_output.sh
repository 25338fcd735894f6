#!/bin/sh
# expect_output.sh RC TEXT PROGRAM [ARGS...]: runs PROGRAM ARGS, passes when it
# exits with status RC and its output (stdout and stderr) contains TEXT.
# The tests of bench_expert (benchmarks/meson.build) use it.
want_rc=$1
want_text=$2
shift 2
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" != "$want_rc" ]; then
  echo "expect_output.sh: exit status $rc, expected $want_rc" >&2
  exit 1
fi
case $out in
  *"$want_text"*) exit 0 ;;
esac
echo "expect_output.sh: the output does not contain '$want_text'" >&2
exit 1
