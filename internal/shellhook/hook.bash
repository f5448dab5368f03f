# envseal shell hook for bash: warns when a command holds a likely secret.
__envseal_preexec() {
  local c=$BASH_COMMAND
  [[ -n ${COMP_LINE-} || $c == __envseal_* ]] && return 0
  [[ $c =~ [A-Za-z0-9_+/=.-]{16,} ]] || return 0
  [[ $c == "${__envseal_last-}" ]] && return 0
  __envseal_last=$c
  printf '%s\n' "$c" | @ENVSEAL@ shell-hook --check
  return 0
}
trap '__envseal_preexec' DEBUG
