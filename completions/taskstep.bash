# bash completion for taskstep (source it, or install as share/bash-completion/completions/taskstep)

_taskstep() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n = || return
  else
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi

  local subcommands="execute validate render"
  local global_flags="-h --help --help-all -V --version"
  local var_flags="-v --var -y --yaml-var -l --load-vars-from --param"
  local execute_flags="-h --help -c --config -i --input -m --input-mapping -o --output $var_flags --image
    -p --privileged --tag --include-ignored --secret --secrets-file --job --cache-dir --timeout --grace --worker
    --slurm-partition --slurm-shared-root --slurm-copy-rootfs --image-store --insecure-registry
    --no-user-namespace --runc-root --json --color --watch --keep --concourse"
  local render_flags="-h --help --env --yaml $var_flags --concourse"
  local validate_flags="-h --help --concourse"

  local sub="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      execute | validate | render) sub="${words[i]}"; break ;;
    esac
  done

  if [[ -z "$sub" ]]; then
    if [[ "$cur" == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$global_flags" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$subcommands" -- "$cur")
    fi
    return 0
  fi

  # --flag=value forms
  if [[ "$cur" == --*=* ]]; then
    local flag="${cur%%=*}" value="${cur#*=}"
    case "$flag" in
      --worker) mapfile -t COMPREPLY < <(compgen -W "auto local oci slurm" -- "$value") ;;
      --color) mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$value") ;;
      --concourse) mapfile -t COMPREPLY < <(compgen -W "6.7 7.14 8.2" -- "$value") ;;
      *) mapfile -t COMPREPLY < <(compgen -f -- "$value") ;;
    esac
    return 0
  fi

  case "$prev" in
    --worker) mapfile -t COMPREPLY < <(compgen -W "auto local oci slurm" -- "$cur"); return 0 ;;
    --color) mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$cur"); return 0 ;;
    --concourse) mapfile -t COMPREPLY < <(compgen -W "6.7 7.14 8.2" -- "$cur"); return 0 ;;
    -c | --config | -l | --load-vars-from | --secrets-file)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    --image | --cache-dir | --image-store | --slurm-shared-root | --runc-root)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
    -i | --input | -o | --output)
      # NAME=DIR: complete the directory after '='
      if [[ "$cur" == *=* ]]; then
        local name="${cur%%=*}="
        mapfile -t COMPREPLY < <(compgen -d -P "$name" -- "${cur#*=}")
      fi
      return 0 ;;
    -m | --input-mapping | -v | --var | -y | --yaml-var | --param | --tag | --secret | --job | --timeout | --grace | \
      --slurm-partition | --insecure-registry)
      return 0 ;;
  esac

  local flags
  case "$sub" in
    execute) flags="$execute_flags" ;;
    render) flags="$render_flags" ;;
    validate) flags="$validate_flags" ;;
  esac
  if [[ "$cur" == -* || "$sub" == execute ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")  # validate/render: the TASK_FILE
  fi
  return 0
}

complete -F _taskstep taskstep
