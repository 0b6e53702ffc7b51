# Test support for CLI shell tests: `expect NAME WANT_RC PATTERN -- command...` runs the
# command, checks its exit code and that its output (stdout and stderr) matches the
# extended regular expression PATTERN (empty: any output), counts and prints the result.
# `check NAME COMMAND...` counts a condition checked in the shell; `check_json NAME
# EXPR COMMAND...` one on a command's JSON output (support/check_json.py). Source it,
# then end the script with `expect_summary NAME`.
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

check() {
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}

# The command's stdout is a jdc JSON document (schema_version 2, snake_case keys) for
# which the Python expression EXPR over it (`j`) holds.
check_json() {
  local name=$1 expr=$2 out msg
  shift 2
  out=$("$@" 2>/dev/null)
  if msg=$(python3 "$(dirname "${BASH_SOURCE[0]}")/check_json.py" "$expr" <<<"$out"); then echo "ok   $name"; pass=$((pass + 1));
  else echo "FAIL $name: $msg"; fail=$((fail + 1)); fi
}

# Flips bits of the byte at OFFSET of FILE (damage a checksum must catch).
flip_byte() {  # flip_byte FILE OFFSET
  local old
  old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $(( (old ^ 90) & 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

expect_summary() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
