# fish completion for cfgsync(1)
#
# Install as /usr/share/fish/vendor_completions.d/cfgsync.fish.

# Options that take an argument, so that their argument is not taken for
# a command or an operand.
set -g __cfgsync_argopts --cacert --connection-timeout --debounce --format \
    --id --ip --listen --log-format --materializer-timeout --max-body \
    --max-connections --max-entries --max-file-size --max-output \
    --max-payload --max-registrations --max-total-size --metadata --metadata-file --out \
    --output --persist --poll-wait --port-file --route --server --state \
    --threads --timeout --tls-cert --tls-key --token-file -o

# Print the command, the bundle verb if any, and the operands before the
# cursor, one per line; stop at "--".
function __cfgsync_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case --
                return
            case '--*=*'
                continue
            case '-*'
                contains -- $t $__cfgsync_argopts; and set skip 1
                continue
        end
        echo $t
    end
end

# True if the command line has no command yet.
function __cfgsync_needs_command
    test (count (__cfgsync_words)) -eq 0
end

# __cfgsync_is NAME...: true if the command is one of NAME and the cursor
# is not after "--".
function __cfgsync_is
    set -l w (__cfgsync_words)
    set -q w[1]; and contains -- $w[1] $argv; and not __cfgsync_after_dashdash
end

# __cfgsync_verb VERB...: true if the command is "bundle VERB".
function __cfgsync_verb
    set -l w (__cfgsync_words)
    test "$w[1]" = bundle; and set -q w[2]; and contains -- $w[2] $argv
end

# __cfgsync_nargs N: true if N operands follow the command (and bundle verb).
function __cfgsync_nargs
    set -l w (__cfgsync_words)
    set -l n (math (count $w) - 1)
    test "$w[1]" = bundle; and test $n -gt 0; and set n (math $n - 1)
    test $n -eq $argv[1]
end

function __cfgsync_after_dashdash
    set -l tokens (commandline -opc)
    set -l w (__cfgsync_words)
    contains -- -- $tokens; and contains -- "$w[1]" fetch serve-exec
end

# Complete the command line that follows "--".
function __cfgsync_complete_dashdash
    set -l tokens (commandline -opc)
    set -l i (contains -i -- -- $tokens)
    set -l rest (string escape -- $tokens[(math $i + 1)..-1]) (commandline -ct)
    complete -C (string join ' ' -- $rest)
end

function __cfgsync_extensions
    complete -C cfgsync- | string match -r '^cfgsync-\S+' | string replace cfgsync- ''
end

complete -c cfgsync -e

# Global.
complete -c cfgsync -n __cfgsync_needs_command -f
complete -c cfgsync -n __cfgsync_needs_command -l version -d 'Print the version and exit'
complete -c cfgsync -n __cfgsync_needs_command -a bundle -d 'Pack, list, unpack or check a bundle'
complete -c cfgsync -n __cfgsync_needs_command -a fetch -d 'Register, wait, write files, exec'
complete -c cfgsync -n __cfgsync_needs_command -a help -d 'List the commands or show a usage'
complete -c cfgsync -n __cfgsync_needs_command -a register -d 'Register this node'
complete -c cfgsync -n __cfgsync_needs_command -a serve-bundle -d 'Serve a precomputed bundle'
complete -c cfgsync -n __cfgsync_needs_command -a serve-exec -d 'Serve what a materializer computes'
complete -c cfgsync -n __cfgsync_needs_command -a '(__cfgsync_extensions)' -d 'Extension command'
complete -c cfgsync -n 'not __cfgsync_after_dashdash' -s h -l help -d 'Print the usage and exit'

# help
complete -c cfgsync -n '__cfgsync_is help; and __cfgsync_nargs 0' -f \
    -a 'bundle fetch register serve-bundle serve-exec'
complete -c cfgsync -n '__cfgsync_is help; and __cfgsync_nargs 0' -f \
    -a '(__cfgsync_extensions)' -d 'Extension command'
complete -c cfgsync -n '__cfgsync_is help; and not __cfgsync_nargs 0' -f

# Server options: serve-bundle and serve-exec.
set -l srv '__cfgsync_is serve-bundle serve-exec'
complete -c cfgsync -n $srv -l connection-timeout -x -d 'Close idle connections after SECONDS'
complete -c cfgsync -n $srv -l listen -x -d 'Listen on [HOST:]PORT (default 0.0.0.0:4400)'
complete -c cfgsync -n $srv -l log-format -x -a 'text json' -d 'Format of the request log'
complete -c cfgsync -n $srv -l max-body -x -d 'Largest request body in bytes'
complete -c cfgsync -n $srv -l max-connections -x -d 'Most connections at a time'
complete -c cfgsync -n $srv -l port-file -r -F -d 'Write the port number to FILE'
complete -c cfgsync -n $srv -s q -l quiet -d 'Write no request log lines'
complete -c cfgsync -n $srv -l threads -x -d 'Number of worker threads'
complete -c cfgsync -n $srv -l tls-cert -r -F -d 'PEM certificate chain for HTTPS'
complete -c cfgsync -n $srv -l tls-key -r -F -d 'PEM private key for HTTPS'
complete -c cfgsync -n $srv -l token-file -r -F -d 'Require the bearer token in FILE'

# Bundle limits: serve-bundle and every bundle verb.
set -l lim '__cfgsync_is serve-bundle; or __cfgsync_verb pack list unpack check'
complete -c cfgsync -n $lim -l max-entries -x -d 'Most files in a bundle (archive entries)'
complete -c cfgsync -n $lim -l max-file-size -x -d 'Largest file in a bundle, in bytes'
complete -c cfgsync -n $lim -l max-total-size -x -d 'Most bytes of files in a bundle'

# serve-exec
set -l exe '__cfgsync_is serve-exec'
complete -c cfgsync -n $exe -l debounce -x -d 'Coalesce registrations for MS milliseconds'
complete -c cfgsync -n $exe -l materializer-timeout -x -d 'Kill the materializer after SECONDS'
complete -c cfgsync -n $exe -l max-output -x -d 'Largest materializer output in bytes'
complete -c cfgsync -n $exe -l max-registrations -x -d 'Most registrations'
complete -c cfgsync -n $exe -l persist -r -F -d 'Write each ready result to FILE'
complete -c cfgsync -n $exe -l state -r -F -d 'Journal registrations in FILE'
complete -c cfgsync -n $exe -f -a -- -d 'Then the materializer and its arguments'

# Client options: register and fetch.
set -l cli '__cfgsync_is register fetch'
complete -c cfgsync -n $cli -f
complete -c cfgsync -n $cli -l cacert -r -F -d 'Verify the server against these CA certificates'
complete -c cfgsync -n $cli -l id -x -a '(echo $hostname)' -d 'Node identifier (default the host name)'
complete -c cfgsync -n $cli -l ip -x -d 'Node address'
complete -c cfgsync -n $cli -l metadata -x -d 'Registration metadata as JSON'
complete -c cfgsync -n $cli -l metadata-file -r -F -d 'Read the registration metadata from FILE'
complete -c cfgsync -n $cli -s q -l quiet -d 'Write no progress lines'
complete -c cfgsync -n $cli -l server -x -d 'Server URL (default http://127.0.0.1:4400)'
complete -c cfgsync -n $cli -l timeout -x -d 'Give up after SECONDS (0: never)'
complete -c cfgsync -n $cli -l token-file -r -F -d 'Send the bearer token in FILE'

# fetch
set -l fet '__cfgsync_is fetch'
complete -c cfgsync -n $fet -l no-register -d 'Do not register first'
complete -c cfgsync -n $fet -l out -x -a '(__fish_complete_directories)' -d 'Write every file under DIR'
complete -c cfgsync -n $fet -l poll-wait -x -d 'Long-poll SECONDS (0: off)'
complete -c cfgsync -n $fet -l max-payload -x -d 'Refuse a payload over BYTES'
complete -c cfgsync -n $fet -l print -d 'Write the payload JSON to standard output'
complete -c cfgsync -n $fet -l route -x -d 'Write ARTIFACT=PATH elsewhere'
complete -c cfgsync -n $fet -a -- -d 'Then the command to execute'

# After "--": the command line of fetch or serve-exec.
complete -c cfgsync -n __cfgsync_after_dashdash -f -a '(__cfgsync_complete_dashdash)'

# bundle
complete -c cfgsync -n '__cfgsync_is bundle; and test (count (__cfgsync_words)) -eq 1' -f
complete -c cfgsync -n '__cfgsync_is bundle; and test (count (__cfgsync_words)) -eq 1' \
    -f -a pack -d 'Pack a directory tree into a bundle'
complete -c cfgsync -n '__cfgsync_is bundle; and test (count (__cfgsync_words)) -eq 1' \
    -f -a list -d 'List the files of a bundle'
complete -c cfgsync -n '__cfgsync_is bundle; and test (count (__cfgsync_words)) -eq 1' \
    -f -a unpack -d 'Extract a bundle into a directory'
complete -c cfgsync -n '__cfgsync_is bundle; and test (count (__cfgsync_words)) -eq 1' \
    -f -a check -d 'Validate a bundle'
complete -c cfgsync -n '__cfgsync_verb pack' -l format -x \
    -a 'json tar tar.gz tar.xz tar.zst zip' -d 'Bundle format'
complete -c cfgsync -n '__cfgsync_verb pack' -l hash -d 'Add the sha256 of each file'
complete -c cfgsync -n '__cfgsync_verb pack' -s o -l output -r -F -d 'Write the bundle to FILE'
complete -c cfgsync -n '__cfgsync_verb pack; and __cfgsync_nargs 0' -x \
    -a '(__fish_complete_directories)'
complete -c cfgsync -n '__cfgsync_verb list' -l json -d 'Print the listing as JSON'
complete -c cfgsync -n '__cfgsync_verb unpack; and __cfgsync_nargs 1' -x \
    -a '(__fish_complete_directories)'
