# Test support for CLI shell tests: `expect NAME WANT_RC PATTERN -- command...` runs the
# command, checks its exit code and that its output (stdout and stderr) matches the
# extended regular expression PATTERN (empty: any output), counts and prints the result.
# Source it, then end the script with `expect_summary NAME`.
pass=0
fail=0

expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, want $want"; echo "$out" | head -20; fail=$((fail + 1)); return
  fi
  if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output lacks /$pattern/"; echo "$out" | head -20; fail=$((fail + 1)); return
  fi
  echo "ok   $name"; pass=$((pass + 1))
}

expect_summary() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
