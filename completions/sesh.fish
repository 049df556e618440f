# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sesh_global_optspecs
    string join \n h/help V/version
end

function __fish_sesh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sesh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sesh_using_subcommand
    set -l cmd (__fish_sesh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sesh -n "__fish_sesh_needs_command" -s h -l help -d 'Print help'
complete -c sesh -n "__fish_sesh_needs_command" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "serve" -d 'Run an embedded SSH server that runs a local command for each session'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "exec" -d 'Run a command on a remote host (or many); its exit status becomes sesh\'s'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "test" -d 'Check an SSH server\'s session semantics (no TARGET: check sesh itself)'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "__mux-master" -d 'A connection\'s background mux master (started by `sesh exec --reuse`)'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "generate" -d 'Write shell completions and man pages under DIR (for packagers)'
complete -c sesh -n "__fish_sesh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l listen -d 'Address to listen on (port 0 picks a free port); repeatable, IPv4 and IPv6 alike' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l host-key -d 'Host key (ed25519, OpenSSH format); created on first start when missing [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l authorized-keys -d 'Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l trusted-user-ca-keys -d 'CA public keys (one per line) whose user certificates may log in, like sshd\'s TrustedUserCAKeys: the account must be among a certificate\'s principals' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l host-certificate -d 'Host certificate (`ssh-keygen -s CA -h`) for the host key, presented to clients that trust its CA with `@cert-authority` in known_hosts' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l accept-env -d 'Environment variable names clients may set (`*` and `?` wildcards); repeatable [default: LANG LC_*]' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l shell -d 'Shell that runs commands, instead of the account\'s login shell (e.g. /bin/sh to skip a heavy ~/.bashrc)' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l sftp -d 'How SFTP (and so `scp`) is served: `internal` (built in, needs no OpenSSH), `off`, or a command such as `/usr/lib/openssh/sftp-server`' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l subsystem -d 'A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`; `internal-sftp` is the builtin. Wins over `--sftp`' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l max-connections -d 'Most connections open at once; more are refused' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l max-sessions -d 'Most session channels open at once on one connection' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l max-auth-tries -d 'Most authentication attempts on one connection' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l login-grace-time -d 'Time a connection has to authenticate before it is dropped' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l hangup-grace -d 'After a hang-up (client gone, server stopping), time a command has between SIGHUP and SIGKILL' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l keepalive -d 'Interval of keepalive probes to clients (0 turns them off); three unanswered probes drop the connection' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l window-max -d 'Largest receive window (client input in flight) a channel may grow to while the path\'s round trip keeps it full; 2M or less keeps russh\'s fixed 2M window' -r
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l ephemeral-host-key -d 'Use a new in-memory host key that is never written (for tests)'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -l no-strict-modes -d 'Skip the safety checks on the host key, authorized keys and trusted CA keys files (like sshd\'s `StrictModes no`). By default sesh refuses to start, and refuses logins, when such a file, a directory above it or a symlink on its path is owned by another user (not root), the file or a directory (unless sticky, like /tmp) is writable by group or others, or the host key is readable by group or others'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -s q -l quiet -d 'Only errors on stderr'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -s h -l help -d 'Print help'
complete -c sesh -n "__fish_sesh_using_subcommand serve" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s H -l host -d 'Run on these hosts: a target, a comma-separated list, or a range such as web[01-20] or 10.0.0.[1-9]:2222; repeatable' -r -f -a "(__fish_print_hostnames)"
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l hosts -d 'Run on the hosts listed in FILE, one target per line (# comments)' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l parallel -d 'With many hosts: sessions at once' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l output-dir -d 'With many hosts: write DIR/HOST/stdout, stderr and status.json instead of printing' -r -f -a "(__fish_complete_directories)"
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s i -l identity -d 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l known-hosts -d 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l host-key -d 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s J -l jump -d 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only' -r -f -a "(__fish_print_hostnames)"
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s F -d 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s o -d 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s l -d 'User to log in as (User); as in ssh, it wins over a user@ in the target' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s p -d 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l timeout -d 'Stop the remote command after this long: TERM, then KILL after --kill-after; exit 124' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l kill-after -d 'Time between TERM and KILL when --timeout expires' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l env -d 'Set a variable for the remote command (NAME alone sends the local value); repeatable; the server decides which it accepts' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l connect-timeout -d 'Time allowed to connect and finish the SSH handshake (ConnectTimeout) [default: 30s]' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l keepalive -d 'Keepalive interval (ServerAliveInterval); ServerAliveCountMax (3) unanswered probes end the session (0 turns them off) [default: 15s]' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l window-max -d 'Largest receive window (remote output in flight) a channel may grow to while the path\'s round trip keeps it full; 2M or less keeps russh\'s fixed 2M window' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l reuse -d 'Reuse one connection per host across calls: start a background master when none runs, and keep it this long after its last session [default: 60s]' -r
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s O -d 'Control the TARGET\'s mux master, as ssh -O: check, stop (finish the running sessions, take no new ones), exit (end them now); exit 0, or 255 when no master answers' -r -f -a "check\t'Is a master running? (exit 0, or 255)'
stop\t'Stop accepting new sessions; exit when the running ones end'
exit\t'Exit now, ending the running sessions'"
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l status-json -d 'Write how the session ended as JSON to PATH (tells a remote `exit 143` from SIGTERM)' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l no-prefix -d 'With many hosts: print lines without the `host: ` prefix'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l json -d 'With many hosts: newline-delimited JSON events on stdout (output lines, one record per host, a summary)'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l fail-fast -d 'With many hosts: at the first failure, start no more hosts and hang up the running ones'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -l accept-new -d 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s n -d 'Send no stdin: the remote command reads end of file at once'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s t -d 'Run the command in a pty, with the local terminal in raw mode'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s G -d 'Print the effective configuration for TARGET as `ssh -G` does (the keywords sesh honours) and exit'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s q -l quiet -d 'Only errors on stderr'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sesh -n "__fish_sesh_using_subcommand exec" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_using_subcommand test" -s i -l identity -d 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand test" -l known-hosts -d 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand test" -l host-key -d 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written' -r
complete -c sesh -n "__fish_sesh_using_subcommand test" -s J -l jump -d 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only' -r -f -a "(__fish_print_hostnames)"
complete -c sesh -n "__fish_sesh_using_subcommand test" -s F -d 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)' -r -F
complete -c sesh -n "__fish_sesh_using_subcommand test" -s o -d 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins' -r
complete -c sesh -n "__fish_sesh_using_subcommand test" -s l -d 'User to log in as (User); as in ssh, it wins over a user@ in the target' -r
complete -c sesh -n "__fish_sesh_using_subcommand test" -s p -d 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target' -r
complete -c sesh -n "__fish_sesh_using_subcommand test" -l only -d 'Run only these checks (comma-separated names; see the table)' -r
complete -c sesh -n "__fish_sesh_using_subcommand test" -l accept-new -d 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)'
complete -c sesh -n "__fish_sesh_using_subcommand test" -l json -d 'Print one JSON report on stdout instead of the table'
complete -c sesh -n "__fish_sesh_using_subcommand test" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c sesh -n "__fish_sesh_using_subcommand test" -s q -l quiet -d 'Only errors on stderr'
complete -c sesh -n "__fish_sesh_using_subcommand test" -s h -l help -d 'Print help'
complete -c sesh -n "__fish_sesh_using_subcommand test" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_using_subcommand __mux-master" -s h -l help -d 'Print help'
complete -c sesh -n "__fish_sesh_using_subcommand __mux-master" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_using_subcommand generate" -s h -l help -d 'Print help'
complete -c sesh -n "__fish_sesh_using_subcommand generate" -s V -l version -d 'Print version'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "serve" -d 'Run an embedded SSH server that runs a local command for each session'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "exec" -d 'Run a command on a remote host (or many); its exit status becomes sesh\'s'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "test" -d 'Check an SSH server\'s session semantics (no TARGET: check sesh itself)'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "__mux-master" -d 'A connection\'s background mux master (started by `sesh exec --reuse`)'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "generate" -d 'Write shell completions and man pages under DIR (for packagers)'
complete -c sesh -n "__fish_sesh_using_subcommand help; and not __fish_seen_subcommand_from serve exec test __mux-master generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
