
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
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages under DIR (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sesh;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port)')
            [CompletionResult]::new('--host-key', '--host-key', [CompletionResultType]::ParameterName, 'Host key (ed25519, OpenSSH format); created on first start when missing [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]')
            [CompletionResult]::new('--authorized-keys', '--authorized-keys', [CompletionResultType]::ParameterName, 'Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]')
            [CompletionResult]::new('--accept-env', '--accept-env', [CompletionResultType]::ParameterName, 'Environment variable names clients may set (`*` and `?` wildcards); repeatable [default: LANG LC_*]')
            [CompletionResult]::new('--subsystem', '--subsystem', [CompletionResultType]::ParameterName, 'A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections open at once; more are refused')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Most session channels open at once on one connection')
            [CompletionResult]::new('--max-auth-tries', '--max-auth-tries', [CompletionResultType]::ParameterName, 'Most authentication attempts on one connection')
            [CompletionResult]::new('--login-grace-time', '--login-grace-time', [CompletionResultType]::ParameterName, 'Time a connection has to authenticate before it is dropped')
            [CompletionResult]::new('--hangup-grace', '--hangup-grace', [CompletionResultType]::ParameterName, 'After a hang-up (client gone, server stopping), time a command has between SIGHUP and SIGKILL')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Interval of keepalive probes to clients (0 turns them off); three unanswered probes drop the connection')
            [CompletionResult]::new('--ephemeral-host-key', '--ephemeral-host-key', [CompletionResultType]::ParameterName, 'Use a new in-memory host key that is never written (for tests)')
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
        'sesh;generate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sesh;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run an embedded SSH server that runs a local command for each session')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages under DIR (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sesh;help;serve' {
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
