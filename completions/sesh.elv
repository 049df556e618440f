
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
            cand exec 'Run a command on a remote host (or many); its exit status becomes sesh''s'
            cand test 'Check an SSH server''s session semantics (no TARGET: check sesh itself)'
            cand __mux-master 'A connection''s background mux master (started by `sesh exec --reuse`)'
            cand generate 'Write shell completions and man pages under DIR (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sesh;serve'= {
            cand --listen 'Address to listen on (port 0 picks a free port); repeatable, IPv4 and IPv6 alike'
            cand --host-key 'Host key (ed25519, OpenSSH format); created on first start when missing [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]'
            cand --authorized-keys 'Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]'
            cand --trusted-user-ca-keys 'CA public keys (one per line) whose user certificates may log in, like sshd''s TrustedUserCAKeys: the account must be among a certificate''s principals'
            cand --host-certificate 'Host certificate (`ssh-keygen -s CA -h`) for the host key, presented to clients that trust its CA with `@cert-authority` in known_hosts'
            cand --accept-env 'Environment variable names clients may set (`*` and `?` wildcards); repeatable [default: LANG LC_*]'
            cand --shell 'Shell that runs commands, instead of the account''s login shell (e.g. /bin/sh to skip a heavy ~/.bashrc)'
            cand --sftp 'How SFTP (and so `scp`) is served: `internal` (built in, needs no OpenSSH), `off`, or a command such as `/usr/lib/openssh/sftp-server`'
            cand --subsystem 'A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`; `internal-sftp` is the builtin. Wins over `--sftp`'
            cand --max-connections 'Most connections open at once; more are refused'
            cand --max-sessions 'Most session channels open at once on one connection'
            cand --max-auth-tries 'Most authentication attempts on one connection'
            cand --login-grace-time 'Time a connection has to authenticate before it is dropped'
            cand --hangup-grace 'After a hang-up (client gone, server stopping), time a command has between SIGHUP and SIGKILL'
            cand --keepalive 'Interval of keepalive probes to clients (0 turns them off); three unanswered probes drop the connection'
            cand --window-max 'Largest receive window (client input in flight) a channel may grow to while the path''s round trip keeps it full; 2M or less keeps russh''s fixed 2M window'
            cand --ephemeral-host-key 'Use a new in-memory host key that is never written (for tests)'
            cand --no-strict-modes 'Skip the safety checks on the host key, authorized keys and trusted CA keys files (like sshd''s `StrictModes no`). By default sesh refuses to start, and refuses logins, when such a file, a directory above it or a symlink on its path is owned by another user (not root), the file or a directory (unless sticky, like /tmp) is writable by group or others, or the host key is readable by group or others'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sesh;exec'= {
            cand -H 'Run on these hosts: a target, a comma-separated list, or a range such as web[01-20] or 10.0.0.[1-9]:2222; repeatable'
            cand --host 'Run on these hosts: a target, a comma-separated list, or a range such as web[01-20] or 10.0.0.[1-9]:2222; repeatable'
            cand --hosts 'Run on the hosts listed in FILE, one target per line (# comments)'
            cand --parallel 'With many hosts: sessions at once'
            cand --output-dir 'With many hosts: write DIR/HOST/stdout, stderr and status.json instead of printing'
            cand -i 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]'
            cand --identity 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]'
            cand --known-hosts 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]'
            cand --host-key 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written'
            cand -J 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only'
            cand --jump 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only'
            cand -F 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)'
            cand -o 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins'
            cand -l 'User to log in as (User); as in ssh, it wins over a user@ in the target'
            cand -p 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target'
            cand --timeout 'Stop the remote command after this long: TERM, then KILL after --kill-after; exit 124'
            cand --kill-after 'Time between TERM and KILL when --timeout expires'
            cand --env 'Set a variable for the remote command (NAME alone sends the local value); repeatable; the server decides which it accepts'
            cand --connect-timeout 'Time allowed to connect and finish the SSH handshake (ConnectTimeout) [default: 30s]'
            cand --keepalive 'Keepalive interval (ServerAliveInterval); ServerAliveCountMax (3) unanswered probes end the session (0 turns them off) [default: 15s]'
            cand --window-max 'Largest receive window (remote output in flight) a channel may grow to while the path''s round trip keeps it full; 2M or less keeps russh''s fixed 2M window'
            cand --reuse 'Reuse one connection per host across calls: start a background master when none runs, and keep it this long after its last session [default: 60s]'
            cand -O 'Control the TARGET''s mux master, as ssh -O: check, stop (finish the running sessions, take no new ones), exit (end them now); exit 0, or 255 when no master answers'
            cand --status-json 'Write how the session ended as JSON to PATH (tells a remote `exit 143` from SIGTERM)'
            cand --no-prefix 'With many hosts: print lines without the `host: ` prefix'
            cand --json 'With many hosts: newline-delimited JSON events on stdout (output lines, one record per host, a summary)'
            cand --fail-fast 'With many hosts: at the first failure, start no more hosts and hang up the running ones'
            cand --accept-new 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)'
            cand -n 'Send no stdin: the remote command reads end of file at once'
            cand -t 'Run the command in a pty, with the local terminal in raw mode'
            cand -G 'Print the effective configuration for TARGET as `ssh -G` does (the keywords sesh honours) and exit'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sesh;test'= {
            cand -i 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]'
            cand --identity 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]'
            cand --known-hosts 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]'
            cand --host-key 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written'
            cand -J 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only'
            cand --jump 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only'
            cand -F 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)'
            cand -o 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins'
            cand -l 'User to log in as (User); as in ssh, it wins over a user@ in the target'
            cand -p 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target'
            cand --only 'Run only these checks (comma-separated names; see the table)'
            cand --accept-new 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)'
            cand --json 'Print one JSON report on stdout instead of the table'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sesh;__mux-master'= {
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
            cand exec 'Run a command on a remote host (or many); its exit status becomes sesh''s'
            cand test 'Check an SSH server''s session semantics (no TARGET: check sesh itself)'
            cand __mux-master 'A connection''s background mux master (started by `sesh exec --reuse`)'
            cand generate 'Write shell completions and man pages under DIR (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sesh;help;serve'= {
        }
        &'sesh;help;exec'= {
        }
        &'sesh;help;test'= {
        }
        &'sesh;help;__mux-master'= {
        }
        &'sesh;help;generate'= {
        }
        &'sesh;help;help'= {
        }
    ]
    $completions[$command]
}
