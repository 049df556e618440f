//! Integration tests: the real `sesh` binary against the real OpenSSH
//! tools, and a russh client for what those cannot show. One test binary,
//! so the heavy dependencies link once.

mod support;

mod conformance;
mod exec_common;
mod exec_known_hosts;
mod exec_reuse;
mod exec_reuse_faults;
mod exec_serve;
mod exec_sshd;
mod fanout;
mod faults;
mod generated;
mod readme;
mod serve_auth;
mod serve_hostile_limits;
mod serve_hostile_requests;
mod serve_hostile_wire;
mod serve_lifecycle;
mod serve_openssh;
mod serve_russh;
mod serve_strict_modes;
mod soak;
