//! Kapu's own TLS listener (rustls): HTTPS, with browsers asked for a client certificate,
//! optionally. The certificate a connection presents travels with each of its requests;
//! whether it means anything is the binding's business (a certificate bound to a user).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use kapu_core::Kapu;
use kapu_core::actor::ClientCert;
use kapu_core::signon::certificates;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use tokio_rustls::TlsAcceptor;

/// The certificate the connection presented, on each of its requests.
#[derive(Clone)]
pub struct PresentedCert(pub ClientCert);

/// How long a client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn bad(what: &str, path: &Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what} {}: {e}", path.display()),
    )
}

/// The server's TLS settings from PEM files. With `client_ca`, presented certificates
/// must chain to it; without, any certificate proving its key is taken (self-made
/// software certificates), and only a binding to a user gives it meaning.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> std::io::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("cannot read the certificate", cert, e))?;
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("cannot read the key", key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ClientCertVerifier> = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(path)
                .map_err(|e| bad("cannot read the client CA", path, e))?
            {
                roots
                    .add(ca.map_err(|e| bad("cannot read the client CA", path, e))?)
                    .map_err(|e| bad("bad client CA", path, e))?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| bad("bad client CA", path, e))?
        }
        None => Arc::new(AnyClientCert(provider.clone())),
    };
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS", cert, e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key_der)
        .map_err(|e| bad("the certificate and key do not match", cert, e))?;
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks for a client certificate, optionally, and takes any that proves possession of its
/// key; the handshake signature is checked by rustls's own verification.
#[derive(Debug)]
struct AnyClientCert(Arc<CryptoProvider>);

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Serves HTTPS until the listener fails; each connection's requests carry its address
/// and the certificate it presented.
pub async fn serve_tls(
    kapu: Kapu,
    router: Router,
    listener: tokio::net::TcpListener,
    tls: Arc<ServerConfig>,
) -> std::io::Result<()> {
    crate::start_workers(&kapu);
    let acceptor = TlsAcceptor::from(tls);
    let config = kapu.config();
    let header_timeout = config.header_timeout;
    crate::listener::accept_loop(
        listener,
        config.connections_per_address,
        config.idle_timeout,
        move |tcp, addr| {
            let (acceptor, router) = (acceptor.clone(), router.clone());
            async move {
                let stream =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %addr, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                let presented = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|der| certificates::parse_der(der).ok())
                    .map(PresentedCert);
                crate::listener::serve_connection(
                    stream,
                    addr,
                    router,
                    move |extensions| {
                        if let Some(cert) = &presented {
                            extensions.insert(cert.clone());
                        }
                    },
                    header_timeout,
                )
                .await;
            }
        },
    )
    .await;
    Ok(())
}
