//! A software security key for the tests: a FIDO2 authenticator with a P-256 key and
//! "none" attestation, answering WebAuthn ceremonies as a browser would hand them to the
//! server (WebAuthn Level 3 JSON). Only its signing is cryptography, and that comes from
//! the `p256` crate; the rest is the byte layout of the specification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct SoftKey {
    key: SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
    /// The origin the "browser" runs on, e.g. `http://localhost:8080`.
    origin: String,
    rp_id: String,
}

impl SoftKey {
    /// A new key; `seed` makes it distinct (and repeatable).
    pub fn new(seed: &str, origin: &str) -> SoftKey {
        let secret = Sha256::digest(format!("soft key {seed}").as_bytes());
        let rp_id = origin
            .split("://")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string();
        SoftKey {
            key: SigningKey::from_slice(&secret).unwrap(),
            credential_id: Sha256::digest(format!("credential {seed}").as_bytes()).to_vec(),
            counter: 0,
            origin: origin.to_string(),
            rp_id,
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The flags byte and counter after the relying party's hash: user present and verified.
    fn auth_data_head(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// The public key as a COSE_Key (EC2, ES256, P-256), CBOR-encoded.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let (x, y) = (&bytes[1..33], &bytes[33..65]);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        out.extend_from_slice(x);
        out.extend_from_slice(&[0x22, 0x58, 0x20]);
        out.extend_from_slice(y);
        out
    }

    /// Answers `navigator.credentials.create(options)`.
    pub fn register(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        assert_eq!(options["publicKey"]["rp"]["id"], self.rp_id.as_str());
        let client_data = self.client_data("webauthn.create", challenge);
        // UP | UV | AT (attested credential data follows).
        let mut auth_data = self.auth_data_head(0x45);
        auth_data.extend_from_slice(&[0u8; 16]);
        let id_len = u16::try_from(self.credential_id.len()).unwrap();
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let mut attestation = vec![0xa3];
        attestation.extend_from_slice(b"\x63fmt\x64none\x67attStmt\xa0\x68authData");
        cbor_bytes_header(&mut attestation, auth_data.len());
        attestation.extend_from_slice(&auth_data);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": B64.encode(&attestation),
                "clientDataJSON": B64.encode(&client_data),
                "transports": ["usb"],
            },
        })
    }

    /// Answers `navigator.credentials.get(options)`, signing over the challenge given.
    pub fn assert(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data_head(0x05);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": B64.encode(&auth_data),
                "clientDataJSON": B64.encode(&client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": null,
            },
        })
    }
}

fn cbor_bytes_header(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=23 => out.push(0x40 + u8::try_from(len).unwrap()),
        24..=255 => out.extend_from_slice(&[0x58, u8::try_from(len).unwrap()]),
        _ => {
            out.push(0x59);
            out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
    }
}
