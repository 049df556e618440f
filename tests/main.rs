//! Integration tests: the real `sesh` binary against the real OpenSSH
//! tools, and a russh client for what those cannot show. One test binary,
//! so the heavy dependencies link once.

mod support;

mod conformance;
mod exec_common;
mod exec_config;
mod exec_config_host_keys;
mod exec_config_routes;
mod exec_config_session;
mod exec_handshake;
mod exec_host_certs;
mod exec_jump;
mod exec_known_hosts;
mod exec_passphrase;
mod exec_proxy_command;
mod exec_reuse;
mod exec_reuse_faults;
mod exec_serve;
mod exec_serve_certs;
mod exec_sshd;
mod exec_user_certs;
mod fanout;
mod faults;
mod generated;
mod readme;
mod serve_auth;
mod serve_certs;
mod serve_hostile_limits;
mod serve_hostile_requests;
mod serve_hostile_wire;
mod serve_lifecycle;
mod serve_openssh;
mod serve_russh;
mod serve_sftp;
mod serve_sftp_limits;
mod serve_sftp_peers;
mod serve_signal_state;
mod serve_strict_modes;
mod soak;
mod ssh_config;
mod window_tuning;
