//! Signing for a certificate login with a key file. russh's own
//! `authenticate_openssh_cert` announces an RSA certificate as
//! `ssh-rsa-cert-v01` while signing with rsa-sha2-512, which OpenSSH refuses
//! (russh issue #679). Going through `authenticate_certificate_with` with
//! this signer names the hash the signature really uses. Only RSA keys take
//! this way: it costs a query round trip that the other keys' certificates,
//! signed at once by `authenticate_openssh_cert`, do without.

use std::sync::Arc;

use russh::keys::agent::AgentIdentity;
use russh::keys::signature::Signer as _;
use russh::keys::ssh_encoding::Encode;
use russh::keys::ssh_key::Signature;
use russh::keys::{HashAlg, PrivateKey};
use russh::{AgentAuthError, Signer};

/// A private key in memory, signing like an agent would.
pub struct FileSigner(pub Arc<PrivateKey>);

impl Signer for FileSigner {
    type Error = AgentAuthError;

    async fn auth_sign(
        &mut self,
        _: &AgentIdentity,
        hash: Option<HashAlg>,
        mut data: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        let key = |e: russh::keys::ssh_key::Error| AgentAuthError::Key(e.into());
        let signature: Signature = match self.0.key_data().rsa() {
            Some(rsa) => (rsa, hash.or(Some(HashAlg::Sha512))).try_sign(&data),
            None => self.0.try_sign(&data),
        }
        .map_err(|e| key(e.into()))?;
        // russh sends what follows the data it gave: string(signature).
        let encoded = signature.encode_vec().map_err(|e| key(e.into()))?;
        encoded.encode(&mut data).map_err(|e| key(e.into()))?;
        Ok(data)
    }
}
