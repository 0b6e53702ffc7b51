#!/usr/bin/env bash
# The man pages and bash completions against the programs: every man page renders
# without a warning, and every command and flag the programs' --help lists is in the
# man page and completed by the completion, which offers nothing the program lacks.
# Usage: tools_docs.sh PATH_TO_JDC PATH_TO_JDC_COMPACTOR PATH_TO_JANUSC SOURCE_ROOT
set -u
jdc=$1
compactor=$2
janusc=$3
root=$4
# shellcheck source=support/cli_expect.sh
source "$(dirname "${BASH_SOURCE[0]}")/support/cli_expect.sh"

check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}
same() {  # same NAME WANT GOT: two sorted word lists are equal
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; pass=$((pass + 1));
  else echo "FAIL $1"; diff <(tr ' ' '\n' <<<"$2") <(tr ' ' '\n' <<<"$3") | sed 's/^/     /'; fail=$((fail + 1)); fi
}
words() { tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '; }
# The long flags a --help lists, --help itself aside.
help_flags() { "$@" --help | grep -oE '^ +(-[a-zA-Z],)?--[A-Za-z-]+' | grep -oE -- '--[A-Za-z-]+' | grep -vx -- '--help' | grep -vx -- '--version' | words; }
# What a completion offers after COMMAND... and a word starting with "-".
completed() {  # completed FUNCTION WORDS...
  local fn=$1
  shift
  COMP_WORDS=("$@" "-")
  COMP_CWORD=$#
  COMPREPLY=()
  "$fn"
  printf '%s\n' "${COMPREPLY[@]}" | grep -vx -- '--help' | grep -vx -- '--version' | words
}
man_text() { sed 's/\\-/-/g' "$root/man/$1.1"; }

for page in jdc jdc-compactor janusc; do
  check "man page $page.1 renders without warnings" bash -c "[ -z \"\$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z '$root/man/$page.1' 2>&1)\" ]"
done

# shellcheck source=/dev/null
source "$root/completions/jdc"
# shellcheck source=/dev/null
source "$root/completions/jdc-compactor"
# shellcheck source=/dev/null
source "$root/completions/janusc"

commands=$("$jdc" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}' | words)
COMP_WORDS=(jdc "")
COMP_CWORD=1
_jdc
same "jdc: the completion offers exactly the commands" "$commands" "$(printf '%s\n' "${COMPREPLY[@]}" | grep -v '^-' | words)"
for cmd in $commands; do
  same "jdc $cmd: the completion offers exactly its flags" "$(help_flags "$jdc" "$cmd")" "$(completed _jdc jdc "$cmd")"
  check "jdc $cmd: in the man page" grep -qE "^\.B $cmd( |$)" <(man_text jdc)
  for flag in $(help_flags "$jdc" "$cmd"); do
    grep -qE -- "$flag\b" <(man_text jdc) || { echo "FAIL jdc $cmd $flag: not in the man page"; fail=$((fail + 1)); }
  done
done
same "jdc-compactor: the completion offers exactly its flags" "$(help_flags "$compactor")" "$(completed _jdc_compactor jdc-compactor)"
for flag in $(help_flags "$compactor"); do
  check "jdc-compactor $flag: in the man page" grep -qE -- "$flag\b" <(man_text jdc-compactor)
done
for cmd in build gen; do
  same "janusc $cmd: the completion offers exactly its flags" "$(help_flags "$janusc" "$cmd")" "$(completed _janusc janusc "$cmd")"
  for flag in $(help_flags "$janusc" "$cmd"); do
    check "janusc $cmd $flag: in the man page" grep -qE -- "$flag\b" <(man_text janusc)
  done
done
COMP_WORDS=(jdc stats --format "")
COMP_CWORD=3
_jdc
same "jdc stats --format: its values" "json prometheus text " "$(printf '%s\n' "${COMPREPLY[@]}" | words)"

expect_summary tools_docs
