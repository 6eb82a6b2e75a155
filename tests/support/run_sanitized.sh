#!/usr/bin/env bash
# run_sanitized.sh REPORT_DIR SCRIPT...: runs an e2e or fault script against
# sanitized binaries; fails on any sanitizer report. Why leak checking is off
# here and how the reports reach files: tests/e2e/CMakeLists.txt.
reports=$1; shift
rm -rf "$reports" && mkdir -p "$reports" || exit 1
export ASAN_OPTIONS="detect_leaks=0:handle_abort=1:log_path=$reports/san${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# libubsan hands its log_path to libasan too: keep them equal
export UBSAN_OPTIONS="print_stacktrace=1:abort_on_error=1:log_path=$reports/san${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
"$@"
rc=$?
if compgen -G "$reports/*" >/dev/null; then
  for report in "$reports"/*; do echo "----- $report"; cat "$report"; done
  echo "sanitizer reports from the processes above (kept in $reports)"
  exit 1
fi
exit $rc
