#!/bin/sh
# packaging/timed.sh NAME COMMAND...: run COMMAND, then print and append "NAME: SECONDS s" to build/times.txt
# (the build times docs/packaging.md reports come from there).
name=$1; shift
start=$(date +%s.%N)
"$@" || exit $?
end=$(date +%s.%N)
mkdir -p build
secs=$(echo "$end $start" | awk '{printf "%.1f", $1 - $2}')
echo "$name: $secs s" | tee -a build/times.txt
