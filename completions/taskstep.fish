# fish completion for taskstep (install as share/fish/vendor_completions.d/taskstep.fish)

set -l subcommands execute validate render
complete -c taskstep -f
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -s h -l help -d 'Print help'
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -l help-all -d 'Print help for every subcommand'
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -s V -l version -d 'Print the version, the default Concourse version and the workers'
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -a execute -d 'Run a task file on a worker (like fly execute)'
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -a validate -d 'Check a task file as Concourse would'
complete -c taskstep -n "not __fish_seen_subcommand_from $subcommands" -a render -d 'Print the final task config as JSON'

# validate / render: the task file
complete -c taskstep -n "__fish_seen_subcommand_from validate render" -F
complete -c taskstep -n "__fish_seen_subcommand_from render" -l env -d 'Print the process environment instead'
complete -c taskstep -n "__fish_seen_subcommand_from render" -l yaml -d 'Print the final config as YAML'

# -v -y -l --param: render and execute
for sub in render execute
    complete -c taskstep -n "__fish_seen_subcommand_from $sub" -s v -l var -r -d 'NAME=STRING variable'
    complete -c taskstep -n "__fish_seen_subcommand_from $sub" -s y -l yaml-var -r -d 'NAME=YAML variable'
    complete -c taskstep -n "__fish_seen_subcommand_from $sub" -s l -l load-vars-from -r -F -d 'YAML file of variables'
    complete -c taskstep -n "__fish_seen_subcommand_from $sub" -l param -r -d 'NAME=YAML param override'
end

set -l ex "__fish_seen_subcommand_from execute"
complete -c taskstep -n $ex -s c -l config -r -F -d 'Task file to run'
complete -c taskstep -n $ex -s i -l input -r -d 'NAME=DIR: a local directory for a task input'
complete -c taskstep -n $ex -s m -l input-mapping -r -d 'NAME=ARTIFACT: map a task input'
complete -c taskstep -n $ex -s o -l output -r -d 'NAME=DIR: copy a task output out'
complete -c taskstep -n $ex -l image -r -a '(__fish_complete_directories)' -d 'Image artifact directory'
complete -c taskstep -n $ex -s p -l privileged -d 'Run the task privileged'
complete -c taskstep -n $ex -l tag -r -d 'Worker tag the task needs'
complete -c taskstep -n $ex -l include-ignored -d 'Stage git-ignored files of inputs too'
complete -c taskstep -n $ex -l secret -r -d 'NAME=VALUE credential var'
complete -c taskstep -n $ex -l secrets-file -r -F -d 'YAML file of credential vars'
complete -c taskstep -n $ex -l job -r -d 'Run as a build of this job'
complete -c taskstep -n $ex -l cache-dir -r -a '(__fish_complete_directories)' -d 'Where job caches live'
complete -c taskstep -n $ex -l timeout -r -d 'Abort the task after this long'
complete -c taskstep -n $ex -l grace -r -d 'SIGTERM to SIGKILL delay on abort'
complete -c taskstep -n $ex -l worker -x -a 'auto local oci slurm' -d 'Worker type'
complete -c taskstep -n $ex -l slurm-partition -r -d 'Slurm partition'
complete -c taskstep -n $ex -l slurm-shared-root -r -a '(__fish_complete_directories)' -d 'Slurm: shared run directory root'
complete -c taskstep -n $ex -l slurm-copy-rootfs -d 'Slurm: copy images into the bundle'
complete -c taskstep -n $ex -l image-store -r -a '(__fish_complete_directories)' -d 'Where pulled images live'
complete -c taskstep -n $ex -l insecure-registry -r -d 'HOST:PORT reached over plain http'
complete -c taskstep -n $ex -l no-user-namespace -d 'oci: no user namespace'
complete -c taskstep -n $ex -l runc-root -r -a '(__fish_complete_directories)' -d 'oci: runc state directory'
complete -c taskstep -n $ex -l json -d 'Print one JSON event per line'
complete -c taskstep -n $ex -l color -x -a 'auto always never' -d 'When to colour'
complete -c taskstep -n $ex -l watch -d 'Run again whenever a file of an input changes'
complete -c taskstep -n $ex -l keep -d 'Keep a failed run for taskstep intercept'
complete -c taskstep -n "__fish_seen_subcommand_from validate render execute" -l concourse -x -a '6.7 7.14 8.2' -d 'The Concourse version to follow'
