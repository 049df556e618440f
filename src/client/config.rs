//! `sesh exec`'s arguments turned into an [`ExecConfig`].

use std::os::unix::ffi::OsStrExt;

use super::ExecConfig;
use super::fanout::{FanoutOptions, Mode};
use super::resolve::{Resolver, Typed};
use super::ssh_config::values::RequestTty;
use crate::cli::ExecArgs;

/// What `sesh exec` was asked to do.
pub enum Plan {
    One(Box<ExecConfig>),
    /// Many hosts, each with its label (the target as given) and config.
    Many(Vec<(String, ExecConfig)>, FanoutOptions),
    /// `-G`: the effective configuration's lines, to print.
    Show(Vec<String>),
    /// `-O`: talk to the target's mux master.
    Control(super::mux::Control, Box<ExecConfig>),
}

impl Plan {
    /// Validates the arguments; `Err` is the one line to show.
    pub fn from_args(args: &ExecArgs) -> Result<Self, String> {
        let mut labels = Vec::new();
        for spec in &args.hosts {
            labels.extend(super::hosts::expand(spec)?);
        }
        if let Some(file) = &args.hosts_file {
            labels.extend(super::hosts::read_file(file)?);
        }
        let many = !args.hosts.is_empty() || args.hosts_file.is_some();
        let resolver = resolver(args)?;
        if !many {
            if args.json || args.output_dir.is_some() || args.no_prefix || args.fail_fast {
                return Err("--json, --output-dir, --no-prefix and --fail-fast need -H or --hosts".into());
            }
            let (target, command) = args.words.split_first().expect("clap requires words");
            let target = target.to_str().ok_or("the target is not valid UTF-8")?;
            if args.show_config {
                return Ok(Plan::Show(resolver.show(target)?));
            }
            if let Some(op) = args.control {
                if !command.is_empty() {
                    return Err("-O takes a target and no command".into());
                }
                let mut config = ExecConfig::from_args(args, &resolver, target, command, true)?;
                config.reuse.get_or_insert(super::mux::Reuse {
                    master: super::mux::Master::No,
                    persist: super::mux::Persist::No,
                    path: None,
                });
                return Ok(Plan::Control(op, Box::new(config)));
            }
            // `TARGET -- COMMAND`: clap keeps a `--` that follows the first
            // word of a trailing argument list; it separates, it is no word.
            let command = match command.split_first() {
                Some((first, rest)) if first == "--" => rest,
                _ => command,
            };
            if command.is_empty() {
                return Err("no command given: sesh exec TARGET COMMAND...".into());
            }
            let config = ExecConfig::from_args(args, &resolver, target, command, true)?;
            return Ok(Plan::One(Box::new(config)));
        }
        if args.show_config {
            return Err("-G shows one target: sesh exec -G TARGET".into());
        }
        if labels.is_empty() {
            return Err("the host list is empty".into());
        }
        if args.control.is_some() {
            return Err("-O is for one host".into());
        }
        if args.status_json.is_some() {
            return Err("--status-json is for one host; with many use --json or --output-dir".into());
        }
        if args.tty {
            return Err("-t is for one host: many hosts cannot share one terminal".into());
        }
        let stdin = super::fanout::broadcast_wanted(args.no_stdin);
        if stdin && labels.len() > args.parallel as usize {
            return Err(format!(
                "stdin is streamed to every host at once: {} hosts need --parallel {} or more (or -n for no stdin)",
                labels.len(),
                labels.len()
            ));
        }
        let configs = labels
            .into_iter()
            .map(|label| {
                ExecConfig::from_args(args, &resolver, &label, &args.words, false)
                    .map(|config| (label, config))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mode = match (&args.output_dir, args.json, args.no_prefix) {
            (Some(dir), _, _) => Mode::Files(dir.clone()),
            (None, true, _) => Mode::Json,
            (None, false, true) => Mode::Bare,
            (None, false, false) => Mode::Prefixed,
        };
        let options = FanoutOptions {
            parallel: args.parallel as usize,
            mode,
            fail_fast: args.fail_fast,
            stdin,
        };
        Ok(Plan::Many(configs, options))
    }
}

/// The run's configuration, with `sesh exec`'s own flags as keywords:
/// `--env` as one SetEnv line, `-t` as RequestTTY yes.
fn resolver(args: &ExecArgs) -> Result<Resolver, String> {
    let env = args
        .env
        .iter()
        .map(|spec| env_pair(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let typed = Typed {
        connect_timeout: args.connect_timeout,
        keepalive: args.keepalive,
        window_max: Some(args.window_max),
    };
    Resolver::new(&args.access, typed, |cli| {
        cli.set_env(env.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if args.tty {
            cli.option("RequestTTY", "yes");
        }
    })
}

impl ExecConfig {
    /// The config for one target of `sesh exec`; `one` when it is the
    /// only one (RequestTTY may then ask for a pty).
    pub fn from_args(
        args: &ExecArgs,
        resolver: &Resolver,
        target: &str,
        command: &[std::ffi::OsString],
        one: bool,
    ) -> Result<Self, String> {
        let (options, destination) = resolver.resolve(target)?;
        let pty = args.tty
            || (one
                && match options.request_tty {
                    RequestTty::Force => true,
                    RequestTty::Yes => super::terminal::stdin_is_terminal(),
                    RequestTty::No | RequestTty::Auto => false,
                });
        Ok(Self {
            destination,
            command: join_words(command),
            stdin: !args.no_stdin,
            pty,
            env: remote_env(&options.send_env, &options.set_env),
            timeout: args.timeout,
            kill_after: args.kill_after,
            status_json: args.status_json.clone(),
            verbose: args.verbosity.verbose > 0,
            // `--reuse` was typed, so it wins over ControlMaster & co.
            reuse: match args.reuse {
                Some(persist) => Some(super::mux::Reuse::shorthand(persist)),
                None => super::mux::Reuse::from_config(&options),
            },
        })
    }
}

/// The variables to send: local ones whose names match a SendEnv pattern
/// (in the environment's order), then the SetEnv entries.
fn remote_env(send_env: &[String], set_env: &[String]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| send_env.iter().any(|p| crate::pattern::matches(p, name)))
        .collect();
    env.extend(set_env.iter().map(|entry| match entry.split_once('=') {
        Some((name, value)) => (name.to_string(), value.to_string()),
        None => (entry.clone(), String::new()),
    }));
    env
}

/// The words joined with single spaces, bytes as they are.
fn join_words(words: &[std::ffi::OsString]) -> Vec<u8> {
    let mut command = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            command.push(b' ');
        }
        command.extend_from_slice(word.as_bytes());
    }
    command
}

/// `NAME=VALUE`, or `NAME` for the local value.
fn env_pair(spec: &str) -> Result<(String, String), String> {
    let (name, value) = match spec.split_once('=') {
        Some((name, value)) => (name.to_string(), value.to_string()),
        None => {
            let value = std::env::var(spec).map_err(|_| format!("--env {spec}: not set locally"))?;
            (spec.to_string(), value)
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("invalid --env {spec:?}: expected NAME[=VALUE]"));
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan for `line`, with `-F none` after `exec` so no file of this
    /// machine takes part.
    fn plan(line: &[&str]) -> Plan {
        use clap::Parser;
        let mut line = line.to_vec();
        line.insert(2, "-F");
        line.insert(3, "none");
        let cli = crate::cli::Cli::try_parse_from(line).unwrap();
        let crate::cli::Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        Plan::from_args(&args).unwrap()
    }

    /// `TARGET -- COMMAND` and `TARGET COMMAND` give the same command; a
    /// `--` later in the command stays.
    #[test]
    fn separator_after_target() {
        for line in [
            &["sesh", "exec", "h", "--", "echo", "hi"][..],
            &["sesh", "exec", "h", "echo", "hi"][..],
        ] {
            let Plan::One(config) = plan(line) else {
                panic!("one host")
            };
            assert_eq!(config.command, b"echo hi");
        }
        let Plan::One(config) = plan(&["sesh", "exec", "h", "--", "grep", "--", "-x"]) else {
            panic!()
        };
        assert_eq!(config.command, b"grep -- -x");
        let Plan::Many(hosts, _) = plan(&["sesh", "exec", "-n", "-H", "a,b", "--", "echo", "hi"]) else {
            panic!()
        };
        assert_eq!(hosts[1].1.command, b"echo hi");
    }

    /// Words join with single spaces; env specs split at the first `=`.
    #[test]
    fn words_and_env() {
        assert_eq!(
            join_words(&["echo".into(), "a b".into(), "$X".into()]),
            b"echo a b $X"
        );
        assert_eq!(env_pair("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(env_pair("=x").is_err());
        assert!(env_pair("SESH_SURELY_UNSET_VARIABLE").is_err());
    }
}
