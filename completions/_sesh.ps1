
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sesh' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sesh'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sesh' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run an embedded SSH server that runs a local command for each session')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command on a remote host (or many); its exit status becomes sesh''s')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Check an SSH server''s session semantics (no TARGET: check sesh itself)')
            [CompletionResult]::new('__mux-master', '__mux-master', [CompletionResultType]::ParameterValue, 'A connection''s background mux master (started by `sesh exec --reuse`)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages under DIR (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sesh;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port); repeatable, IPv4 and IPv6 alike')
            [CompletionResult]::new('--host-key', '--host-key', [CompletionResultType]::ParameterName, 'Host key (ed25519, OpenSSH format); created on first start when missing [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]')
            [CompletionResult]::new('--authorized-keys', '--authorized-keys', [CompletionResultType]::ParameterName, 'Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]')
            [CompletionResult]::new('--trusted-user-ca-keys', '--trusted-user-ca-keys', [CompletionResultType]::ParameterName, 'CA public keys (one per line) whose user certificates may log in, like sshd''s TrustedUserCAKeys: the account must be among a certificate''s principals')
            [CompletionResult]::new('--host-certificate', '--host-certificate', [CompletionResultType]::ParameterName, 'Host certificate (`ssh-keygen -s CA -h`) for the host key, presented to clients that trust its CA with `@cert-authority` in known_hosts')
            [CompletionResult]::new('--accept-env', '--accept-env', [CompletionResultType]::ParameterName, 'Environment variable names clients may set (`*` and `?` wildcards); repeatable [default: LANG LC_*]')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'Shell that runs commands, instead of the account''s login shell (e.g. /bin/sh to skip a heavy ~/.bashrc)')
            [CompletionResult]::new('--sftp', '--sftp', [CompletionResultType]::ParameterName, 'How SFTP (and so `scp`) is served: `internal` (built in, needs no OpenSSH), `off`, or a command such as `/usr/lib/openssh/sftp-server`')
            [CompletionResult]::new('--subsystem', '--subsystem', [CompletionResultType]::ParameterName, 'A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`; `internal-sftp` is the builtin. Wins over `--sftp`')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections open at once; more are refused')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Most session channels open at once on one connection')
            [CompletionResult]::new('--max-auth-tries', '--max-auth-tries', [CompletionResultType]::ParameterName, 'Most authentication attempts on one connection')
            [CompletionResult]::new('--login-grace-time', '--login-grace-time', [CompletionResultType]::ParameterName, 'Time a connection has to authenticate before it is dropped')
            [CompletionResult]::new('--hangup-grace', '--hangup-grace', [CompletionResultType]::ParameterName, 'After a hang-up (client gone, server stopping), time a command has between SIGHUP and SIGKILL')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Interval of keepalive probes to clients (0 turns them off); three unanswered probes drop the connection')
            [CompletionResult]::new('--window-max', '--window-max', [CompletionResultType]::ParameterName, 'Largest receive window (client input in flight) a channel may grow to while the path''s round trip keeps it full; 2M or less keeps russh''s fixed 2M window')
            [CompletionResult]::new('--ephemeral-host-key', '--ephemeral-host-key', [CompletionResultType]::ParameterName, 'Use a new in-memory host key that is never written (for tests)')
            [CompletionResult]::new('--no-strict-modes', '--no-strict-modes', [CompletionResultType]::ParameterName, 'Skip the safety checks on the host key, authorized keys and trusted CA keys files (like sshd''s `StrictModes no`). By default sesh refuses to start, and refuses logins, when such a file, a directory above it or a symlink on its path is owned by another user (not root), the file or a directory (unless sticky, like /tmp) is writable by group or others, or the host key is readable by group or others')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;exec' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Run on these hosts: a target, a comma-separated list, or a range such as web[01-20] or 10.0.0.[1-9]:2222; repeatable')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Run on these hosts: a target, a comma-separated list, or a range such as web[01-20] or 10.0.0.[1-9]:2222; repeatable')
            [CompletionResult]::new('--hosts', '--hosts', [CompletionResultType]::ParameterName, 'Run on the hosts listed in FILE, one target per line (# comments)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'With many hosts: sessions at once')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'With many hosts: write DIR/HOST/stdout, stderr and status.json instead of printing')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]')
            [CompletionResult]::new('--host-key', '--host-key', [CompletionResultType]::ParameterName, 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written')
            [CompletionResult]::new('-J', '-J ', [CompletionResultType]::ParameterName, 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only')
            [CompletionResult]::new('--jump', '--jump', [CompletionResultType]::ParameterName, 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'User to log in as (User); as in ssh, it wins over a user@ in the target')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Stop the remote command after this long: TERM, then KILL after --kill-after; exit 124')
            [CompletionResult]::new('--kill-after', '--kill-after', [CompletionResultType]::ParameterName, 'Time between TERM and KILL when --timeout expires')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set a variable for the remote command (NAME alone sends the local value); repeatable; the server decides which it accepts')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time allowed to connect and finish the SSH handshake (ConnectTimeout) [default: 30s]')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Keepalive interval (ServerAliveInterval); ServerAliveCountMax (3) unanswered probes end the session (0 turns them off) [default: 15s]')
            [CompletionResult]::new('--window-max', '--window-max', [CompletionResultType]::ParameterName, 'Largest receive window (remote output in flight) a channel may grow to while the path''s round trip keeps it full; 2M or less keeps russh''s fixed 2M window')
            [CompletionResult]::new('--reuse', '--reuse', [CompletionResultType]::ParameterName, 'Reuse one connection per host across calls: start a background master when none runs, and keep it this long after its last session [default: 60s]')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Control the TARGET''s mux master, as ssh -O: check, stop (finish the running sessions, take no new ones), exit (end them now); exit 0, or 255 when no master answers')
            [CompletionResult]::new('--status-json', '--status-json', [CompletionResultType]::ParameterName, 'Write how the session ended as JSON to PATH (tells a remote `exit 143` from SIGTERM)')
            [CompletionResult]::new('--no-prefix', '--no-prefix', [CompletionResultType]::ParameterName, 'With many hosts: print lines without the `host: ` prefix')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With many hosts: newline-delimited JSON events on stdout (output lines, one record per host, a summary)')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'With many hosts: at the first failure, start no more hosts and hang up the running ones')
            [CompletionResult]::new('--accept-new', '--accept-new', [CompletionResultType]::ParameterName, 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Send no stdin: the remote command reads end of file at once')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Run the command in a pty, with the local terminal in raw mode')
            [CompletionResult]::new('-G', '-G ', [CompletionResultType]::ParameterName, 'Print the effective configuration for TARGET as `ssh -G` does (the keywords sesh honours) and exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;test' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Identity file (private key; IdentityFile), offered after its certificate PATH-cert.pub when there is one; repeatable, added to the configured ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]')
            [CompletionResult]::new('--host-key', '--host-key', [CompletionResultType]::ParameterName, 'Trust exactly this host key fingerprint (SHA256:...), or a host certificate signed by the CA with this fingerprint; known_hosts is not read or written')
            [CompletionResult]::new('-J', '-J ', [CompletionResultType]::ParameterName, 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only')
            [CompletionResult]::new('--jump', '--jump', [CompletionResultType]::ParameterName, 'Reach the target through these jump hosts, the first dialled first (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for the target only')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: no file)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'An ssh_config option (KEY=VALUE, as in the file), ahead of the files; repeatable, the first value wins')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'User to log in as (User); as in ssh, it wins over a user@ in the target')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to connect to (Port); as in ssh, it wins over a :PORT in the target')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these checks (comma-separated names; see the table)')
            [CompletionResult]::new('--accept-new', '--accept-new', [CompletionResultType]::ParameterName, 'Trust and remember the host key of a host not yet in known_hosts (StrictHostKeyChecking accept-new)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON report on stdout instead of the table')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;__mux-master' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;generate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run an embedded SSH server that runs a local command for each session')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command on a remote host (or many); its exit status becomes sesh''s')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Check an SSH server''s session semantics (no TARGET: check sesh itself)')
            [CompletionResult]::new('__mux-master', '__mux-master', [CompletionResultType]::ParameterValue, 'A connection''s background mux master (started by `sesh exec --reuse`)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages under DIR (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sesh;help;serve' {
            break
        }
        'sesh;help;exec' {
            break
        }
        'sesh;help;test' {
            break
        }
        'sesh;help;__mux-master' {
            break
        }
        'sesh;help;generate' {
            break
        }
        'sesh;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
