# bash completion for cvtool: subcommands, flags, flag values ({a,b,c} choices),
# config files for -c/--config (the bundled ones and *.json), files for inputs.
# Reads `cvtool ... --help`, so new subcommands and flags complete without editing this
# file; the help is cached per binary (in the shell and in ~/.cache/cvtool/completion).
# Installed as share/bash-completion/completions/cvtool; or: source scripts/completion/cvtool.bash

declare -gA _cvtool_help_cache 2>/dev/null || true

_cvtool_help() {  # _cvtool_help BINARY [SUBCOMMAND...]
  local bin=$1; shift
  local key="$bin ${*}"
  if [[ -z ${_cvtool_help_cache[$key]+set} ]]; then
    local path stamp cache_dir cache
    path=$(type -P "$bin" 2>/dev/null || echo "$bin")
    stamp=$(stat -c %Y "$path" 2>/dev/null || echo 0)
    cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/cvtool/completion
    cache="$cache_dir/$(printf '%s' "$path $stamp $*" | md5sum | cut -c1-16)"
    if [[ -r $cache ]]; then
      _cvtool_help_cache[$key]=$(<"$cache")
    else
      _cvtool_help_cache[$key]=$(CVTOOL_COMPLETING=1 "$bin" "$@" --help 2>/dev/null)
      mkdir -p "$cache_dir" 2>/dev/null && printf '%s\n' "${_cvtool_help_cache[$key]}" > "$cache" 2>/dev/null
    fi
  fi
  printf '%s\n' "${_cvtool_help_cache[$key]}"
}

_cvtool_subcommands() {  # names listed under "Subcommands:"
  _cvtool_help "$@" | awk '/^[A-Za-z]*[Ss][Uu][Bb][Cc][Oo][Mm][Mm][Aa][Nn][Dd][Ss]:/{on=1;next} on&&/^$/{on=0} on&&/^  [a-z]/{print $1}'
}

_cvtool_flags() {  # every -x / --long flag of the options section
  _cvtool_help "$@" | grep -E '^  +-' | awk '{print $1}' | tr ',' '\n' | grep -E '^-'
}

_cvtool_flag_choices() {  # FLAG BIN SUB...: the {a,b,c} values CLI11 prints for FLAG
  local flag=$1; shift
  _cvtool_help "$@" | grep -E "^  +(-[A-Za-z],)?${flag}[ ,]" | head -1 | grep -oE '\{[^}]*\}' | tr -d '{}' | tr ',' ' '
}

_cvtool_bundled_configs() {
  local bin=$1
  local key="$bin models-jsonl"
  if [[ -z ${_cvtool_help_cache[$key]+set} ]]; then
    _cvtool_help_cache[$key]=$("$bin" models --jsonl 2>/dev/null | sed -n 's/.*"config":"\([^"]*\)".*/\1/p')
  fi
  printf '%s\n' "${_cvtool_help_cache[$key]}"
}

_cvtool() {
  local cur prev bin=${COMP_WORDS[0]}
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  # The subcommand path so far: words that are subcommands of the previous level.
  local -a path=()
  local i w subs
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    subs=$(_cvtool_subcommands "$bin" "${path[@]}")
    if grep -qx -- "$w" <<<"$subs"; then path+=("$w"); fi
  done

  case $prev in
    -c|--config)
      local IFS=$'\n'
      COMPREPLY=($(compgen -W "$(_cvtool_bundled_configs "$bin")" -- "$cur") $(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
      return ;;
    -o|--output)
      if [[ ${path[0]} == report || ${path[0]} == config ]]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=($(compgen -d -- "$cur")); fi
      return ;;
    --detections|--gt|--pred|--labels)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    --jsonl)  # a flag everywhere but in report, where it names a file
      if [[ ${path[0]} == report ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
    -*)
      local choices
      choices=$(_cvtool_flag_choices "$prev" "$bin" "${path[@]}")
      if [[ -n $choices ]]; then COMPREPLY=($(compgen -W "$choices" -- "$cur")); return; fi ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_cvtool_flags "$bin" "${path[@]}")" -- "$cur"))
    return
  fi
  subs=$(_cvtool_subcommands "$bin" "${path[@]}")
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  # config show/init TASK: the task names.
  if [[ ${path[0]} == config && ( ${path[1]} == show || ${path[1]} == init || ${path[1]} == doc ) ]]; then
    COMPREPLY=($(compgen -W "detect ocr segment track" -- "$cur"))
    [[ ${#COMPREPLY[@]} -gt 0 ]] && return
  fi
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -f -- "$cur"))
}

complete -F _cvtool cvtool
