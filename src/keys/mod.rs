//! Keys in OpenSSH's formats: the server's host key and the
//! `authorized_keys` file that says who may log in.

pub mod authorized_keys;
pub mod host_key;
pub mod known_hosts;

use russh::keys::{HashAlg, PublicKey};

/// The `SHA256:...` fingerprint `ssh-keygen -l` prints for a key.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
