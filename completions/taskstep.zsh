#compdef taskstep
# zsh completion for taskstep (install as share/zsh/site-functions/_taskstep)

_taskstep_var_flags=(
  '*'{-v,--var}'[a string variable for ((NAME))]:NAME=STRING:'
  '*'{-y,--yaml-var}'[a YAML-typed variable for ((NAME))]:NAME=YAML:'
  '*'{-l,--load-vars-from}'[a YAML file of variables]:vars file:_files'
  '*--param[override or add a param]:NAME=YAML:'
)

_taskstep_execute() {
  _arguments -s \
    '(-h --help)'{-h,--help}'[print help]' \
    '(-c --config)'{-c,--config}'[task file to run]:task file:_files -g "*.(yml|yaml)"' \
    '*'{-i,--input}'[a local directory for a task input]:NAME=DIR:' \
    '*'{-m,--input-mapping}'[map a task input to another artifact name]:NAME=ARTIFACT:' \
    '*'{-o,--output}'[copy a task output into a local directory]:NAME=DIR:' \
    $_taskstep_var_flags \
    '--image[an image artifact (rootfs/ + metadata.json)]:image dir:_directories' \
    '(-p --privileged)'{-p,--privileged}'[run the task privileged]' \
    '*--tag[worker tag the task needs]:tag:' \
    '--include-ignored[stage git-ignored files of inputs too]' \
    '*--secret[a credential var]:NAME=VALUE:' \
    '*--secrets-file[a YAML file of credential vars]:secrets file:_files' \
    '--job[run as a build of this job]:job name:' \
    '--cache-dir[where job caches live]:cache dir:_directories' \
    '--timeout[abort the task after this long]:duration:' \
    '--grace[SIGTERM to SIGKILL delay on abort]:duration:' \
    '--worker[worker type]:worker:(auto local oci slurm)' \
    '--slurm-partition[slurm partition]:partition:' \
    '--slurm-shared-root[slurm: shared directory for run directories]:dir:_directories' \
    '--slurm-copy-rootfs[slurm: copy images into the bundle]' \
    '--image-store[where pulled images live]:dir:_directories' \
    '*--insecure-registry[a registry reached over plain http]:HOST\:PORT:' \
    '--no-user-namespace[oci: no user namespace]' \
    '--runc-root[oci: runc state directory]:dir:_directories' \
    '--json[print one JSON event per line]' \
    '--color=[when to colour]:when:(auto always never)' \
    '--watch[run again whenever a file of an input changes]' \
    '--keep[keep a failed run for taskstep intercept]' \
    '--concourse[the Concourse version to follow]:version:(6.7 7.14 8.2)' \
    '*:: :'
}

_taskstep() {
  local curcontext="$curcontext" state line
  typeset -A opt_args
  _arguments -C \
    '(-h --help)'{-h,--help}'[print help]' \
    '--help-all[print help for every subcommand]' \
    '(-V --version)'{-V,--version}'[print the version, the default Concourse version and the workers]' \
    '1: :->command' \
    '*:: :->args'
  case $state in
    command)
      local -a commands
      commands=(
        'execute:run a task file on a worker (like fly execute, no server)'
        'validate:check a task file as Concourse would'
        'render:print the final task config (params, vars applied) as JSON'
      )
      _describe -t commands 'taskstep command' commands
      ;;
    args)
      case $line[1] in
        execute) _taskstep_execute ;;
        validate) _arguments '(-h --help)'{-h,--help}'[print help]' '--concourse[the Concourse version to follow]:version:(6.7 7.14 8.2)' '1:task file:_files -g "*.(yml|yaml)"' ;;
        render)
          _arguments '(-h --help)'{-h,--help}'[print help]' '(--yaml)--env[print the process environment]' \
            '(--env)--yaml[print the final config as YAML]' '--concourse[the Concourse version to follow]:version:(6.7 7.14 8.2)' $_taskstep_var_flags '1:task file:_files -g "*.(yml|yaml)"'
          ;;
      esac
      ;;
  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _taskstep "$@"
else
  compdef _taskstep taskstep
fi
