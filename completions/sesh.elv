
use builtin;
use str;

set edit:completion:arg-completer[sesh] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'sesh'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'sesh'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run an embedded SSH server that runs a local command for each session'
            cand generate 'Write shell completions and man pages under DIR (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sesh;serve'= {
            cand --listen 'Address to listen on (port 0 picks a free port)'
            cand --host-key 'Host key (ed25519, OpenSSH format); created on first start when missing [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]'
            cand --authorized-keys 'Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]'
            cand --accept-env 'Environment variable names clients may set (`*` and `?` wildcards); repeatable [default: LANG LC_*]'
            cand --subsystem 'A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`'
            cand --max-connections 'Most connections open at once; more are refused'
            cand --max-sessions 'Most session channels open at once on one connection'
            cand --max-auth-tries 'Most authentication attempts on one connection'
            cand --login-grace-time 'Time a connection has to authenticate before it is dropped'
            cand --hangup-grace 'After a hang-up (client gone, server stopping), time a command has between SIGHUP and SIGKILL'
            cand --keepalive 'Interval of keepalive probes to clients (0 turns them off); three unanswered probes drop the connection'
            cand --ephemeral-host-key 'Use a new in-memory host key that is never written (for tests)'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sesh;generate'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sesh;help'= {
            cand serve 'Run an embedded SSH server that runs a local command for each session'
            cand generate 'Write shell completions and man pages under DIR (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sesh;help;serve'= {
        }
        &'sesh;help;generate'= {
        }
        &'sesh;help;help'= {
        }
    ]
    $completions[$command]
}
