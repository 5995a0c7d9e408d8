//! Kapu's capabilities, free of HTTP: every front door calls into [`Kapu`].

pub mod access;
pub mod actor;
pub mod admin;
pub mod error;
pub mod identity;
pub mod mailbox;
pub mod platform;
pub mod signon;
pub mod sso;
pub mod vault;

pub use actor::{Actor, Mode, RequestCtx, Role};
pub use error::{Error, FieldError, Result};

use std::sync::Arc;

use platform::{
    blobs::BlobStore, clock::Clock, config::Config, crypto::PasswordHasher, db::Db,
    form_token::FormTokens, keys::KeyStore, mail::Mailer, master_key::MasterKey,
    settings::Settings,
};

/// The service context every front door holds: storage, clock, mail, settings and hashing.
#[derive(Clone)]
pub struct Kapu {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    db: Db,
    clock: Arc<dyn Clock>,
    config: Config,
    mailer: Mailer,
    settings: Settings,
    hasher: PasswordHasher,
    form_tokens: FormTokens,
    keys: KeyStore,
    blobs: BlobStore,
    master: MasterKey,
    /// The WebAuthn relying party; none where the public address has no host name.
    webauthn: Option<webauthn_rs::Webauthn>,
    /// Single sign-on's clients, subjects' roles and its worker's bell.
    sso: sso::state::State,
    /// Sessions as last read, for requests that need no query.
    sessions: signon::session_cache::SessionCache,
    /// Mailboxes and offices' document types as the send path last read them.
    mailbox: mailbox::state::State,
    /// Users' password dates, for the password state every `/me` shows.
    password_facts: platform::changes::StampedMap<identity::passwords::PasswordFacts>,
    /// Each tenant's contracted services, by tenant code, for the launchpad.
    contracted: platform::changes::StampedMap<Arc<Vec<access::catalog::Service>>>,
    /// Started on the first send (a runtime is needed for it).
    filer: std::sync::OnceLock<mailbox::filing::Filer>,
    /// Started on the first grouped business-log record.
    audit_queue: std::sync::OnceLock<platform::audit_queue::AuditQueue>,
    /// Started on the first grouped write.
    group_writer: std::sync::OnceLock<platform::group_write::GroupWriter>,
}

impl Kapu {
    /// Opens the database, applies migrations and starts nothing in the background.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Kapu> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::Internal(format!("cannot create data dir: {e}")))?;
        let db = Db::connect(&config.database_url()).await?;
        db.migrate().await?;
        platform::fold::backfill(&db).await?;
        let mailer = Mailer::new(&config)?;
        let settings = Settings::new(db.clone());
        let hasher = PasswordHasher::new(config.hash_workers);
        let form_tokens = FormTokens::load(&db, clock.now_ms()).await?;
        let master = MasterKey::load_or_create(&config.master_key_path())?;
        let keys = KeyStore::new(db.clone(), master.clone());
        keys.ensure(clock.now_ms()).await?;
        let blobs = BlobStore::open(&config, master.clone())?;
        let webauthn = signon::webauthn::relying_party(&config.public_url);
        Ok(Kapu {
            inner: Arc::new(Inner {
                db,
                clock,
                config,
                mailer,
                settings,
                hasher,
                form_tokens,
                keys,
                blobs,
                master,
                webauthn,
                sso: Default::default(),
                sessions: Default::default(),
                mailbox: Default::default(),
                password_facts: platform::changes::StampedMap::new(100_000),
                contracted: platform::changes::StampedMap::new(10_000),
                filer: std::sync::OnceLock::new(),
                audit_queue: std::sync::OnceLock::new(),
                group_writer: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }
    pub fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
    pub fn form_tokens(&self) -> &FormTokens {
        &self.inner.form_tokens
    }
    pub fn keys(&self) -> &KeyStore {
        &self.inner.keys
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }
    /// Seals small secrets (TOTP keys) so that a copy of the database alone reveals none.
    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.inner.master
    }

    pub(crate) fn filer(&self) -> &mailbox::filing::Filer {
        self.inner
            .filer
            .get_or_init(|| mailbox::filing::Filer::start(Arc::downgrade(&self.inner)))
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}
