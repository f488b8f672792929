#!/bin/bash
# cvtool.1 from the program's own help: help2man for the page, plus one COMMANDS
# subsection per subcommand (and sub-subcommand) with its --help, examples included.
# Usage: scripts/man/make-man.sh CVTOOL_BINARY OUT.1
set -euo pipefail
bin=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
include=$(mktemp) && trap 'rm -f "$include"' EXIT

subcommands() {  # names under "Subcommands:" in `cvtool ARGS --help`, minus the unbuilt ones
  "$bin" "$@" --help | awk '/^[Ss][Uu][Bb][Cc][Oo][Mm][Mm][Aa][Nn][Dd][Ss]:/{on=1;next} on&&/^$/{on=0} on&&/^  [a-z]/&&!/not built yet/{print $1}'
}
roff_help() {  # a help text as a no-fill block, roff-escaped; the usage line names the command
  echo ".nf"
  "$bin" "$@" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/^-/\\-/' -e "s|^Usage: [^ ]*cvtool|Usage: cvtool|"
  echo ".fi"
}

cat "$here/cvtool.h2m" > "$include"
echo "[COMMANDS]" >> "$include"
for sub in $(subcommands); do
  echo ".SS \"cvtool $sub\"" >> "$include"
  roff_help "$sub" >> "$include"
  for subsub in $(subcommands "$sub"); do
    echo ".SS \"cvtool $sub $subsub\"" >> "$include"
    roff_help "$sub" "$subsub" >> "$include"
  done
done
help2man --no-info --no-discard-stderr --section 1 --name "computer vision from the command line" \
  --version-string "$("$bin" --version | head -1 | cut -d' ' -f2)" --include "$include" --output "$out" "$bin"
