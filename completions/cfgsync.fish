# fish completion for cfgsync(1)
#
# Install as /usr/share/fish/vendor_completions.d/cfgsync.fish.  The
# options come from the program itself (`cfgsync COMMAND --list-options`),
# so they are never out of date; this file knows only how to complete
# operands and option arguments.

# The "SPELLINGS [ARG]" lines of the command being typed.
function __cfgsync_list_options
    set -l w (__cfgsync_words)
    set -q w[1]; or return
    set -l cmd $w[1]
    test "$w[1]" = bundle; and set -q w[2]; and set cmd bundle $w[2]
    cfgsync $cmd --list-options 2>/dev/null
end

# Every spelling of every option.
function __cfgsync_option_words
    for line in (__cfgsync_list_options)
        string split , -- (string split ' ' -- $line)[1]
    end
end

# The argument name of the option before the cursor, if it takes one.
function __cfgsync_prev_arg
    set -l prev (commandline -opc)[-1]
    for line in (__cfgsync_list_options)
        set -l parts (string split ' ' -- $line)
        set -q parts[2]; and contains -- $prev (string split , -- $parts[1]); and echo $parts[2]; and return 0
    end
    return 1
end

# Completes the argument of the option before the cursor.
function __cfgsync_complete_arg
    set -l arg (__cfgsync_prev_arg)
    switch $arg
        case FILE OUT BUNDLE 'FILE|DIR'
            __fish_complete_path (commandline -ct)
        case DIR
            __fish_complete_directories (commandline -ct)
        case '*|*'
            string split '|' -- $arg
    end
end

# Print the command, the bundle verb if any, and the operands before the
# cursor, one per line; stop at "--".
function __cfgsync_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l words
    set -l argopts
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case --
                break
            case '--*=*'
                continue
            case '-*'
                contains -- $t $argopts; and set skip 1
                continue
        end
        set -a words $t
        # Once the command (and bundle verb) is known, so are its options
        # that take an argument.
        if test (count $words) -eq 1 -a "$t" != bundle; or test (count $words) -eq 2 -a "$words[1]" = bundle
            for line in (cfgsync $words --list-options 2>/dev/null)
                set -l parts (string split ' ' -- $line)
                set -q parts[2]; and set -a argopts (string split , -- $parts[1])
            end
        end
    end
    string join \n -- $words
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
complete -c cfgsync -n __cfgsync_needs_command -a pin -d 'Print the public-key pin of a certificate'
complete -c cfgsync -n __cfgsync_needs_command -a register -d 'Register this node'
complete -c cfgsync -n __cfgsync_needs_command -a replace -d 'Push new files for one node'
complete -c cfgsync -n __cfgsync_needs_command -a serve -d 'Serve as the original cfgsync-server does'
complete -c cfgsync -n __cfgsync_needs_command -a serve-bundle -d 'Serve a precomputed bundle'
complete -c cfgsync -n __cfgsync_needs_command -a status -d 'Show what a server is doing'
complete -c cfgsync -n __cfgsync_needs_command -a serve-exec -d 'Serve what a materializer computes'
complete -c cfgsync -n __cfgsync_needs_command -a '(__cfgsync_extensions)' -d 'Extension command'
complete -c cfgsync -n 'not __cfgsync_after_dashdash' -s h -l help -d 'Print the usage and exit'

# help
complete -c cfgsync -n '__cfgsync_is help; and __cfgsync_nargs 0' -f \
    -a 'bundle fetch pin register replace serve serve-bundle serve-exec status'
complete -c cfgsync -n '__cfgsync_is help; and __cfgsync_nargs 0' -f \
    -a '(__cfgsync_extensions)' -d 'Extension command'
complete -c cfgsync -n '__cfgsync_is help; and not __cfgsync_nargs 0' -f

# Options and their arguments, from the program's own table.
complete -c cfgsync -n 'not __cfgsync_needs_command; and not __cfgsync_after_dashdash; and string match -q -- "-*" (commandline -ct)' \
    -f -a '(__cfgsync_option_words)'
complete -c cfgsync -n 'not __cfgsync_after_dashdash; and __cfgsync_prev_arg >/dev/null' \
    -f -a '(__cfgsync_complete_arg)'
complete -c cfgsync -n '__cfgsync_is fetch serve-exec' -f -a -- -d 'Then the command line to run'

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
complete -c cfgsync -n '__cfgsync_verb pack; and __cfgsync_nargs 0' -x \
    -a '(__fish_complete_directories)'
complete -c cfgsync -n '__cfgsync_verb unpack; and __cfgsync_nargs 1' -x \
    -a '(__fish_complete_directories)'
