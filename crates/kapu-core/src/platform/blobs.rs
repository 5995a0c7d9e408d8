//! Document bytes in a blob store (a local directory, or an S3-compatible bucket), streamed
//! both ways and encrypted at rest: each blob has its own random key, sealed under the master
//! key and kept in the SQL row, and its bytes are cut into chunks sealed one by one
//! (XChaCha20-Poly1305 in the STREAM construction: the nonce carries the chunk counter and a
//! last-chunk flag, so chunks cannot be reordered, dropped or cut off unnoticed). Nothing is
//! ever held whole in memory, and a copy of the store alone reveals nothing.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use futures_util::stream::{BoxStream, StreamExt as _};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::master_key::{MasterKey, random_bytes};
use crate::error::{Error, Result};

/// Plaintext bytes per sealed chunk.
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// Blobs up to this size (sealed) go up in one request; larger ones as a multipart upload.
const SINGLE_PUT_MAX: usize = 4 * 1024 * 1024;
/// Part size of a multipart upload (S3 needs at least 5 MiB per part).
const PART: usize = 8 * 1024 * 1024;
/// Part size in a local directory, which takes parts of any size: smaller parts hold less
/// memory while the file is written.
const LOCAL_PART: usize = 2 * 1024 * 1024;
/// Parts in flight at once: bounds the memory one upload takes.
const PARTS_IN_FLIGHT: usize = 2;
/// Plaintext bytes sealed together off the request's task (whole chunks).
const BATCH: usize = 16 * CHUNK;
/// Batches being sealed at once.
const BATCHES_IN_FLIGHT: usize = 2;

fn nonce(counter: u64, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[8] = u8::from(last);
    XNonce::from(n)
}

fn store_error(e: object_store::Error) -> Error {
    Error::Internal(format!("blob store: {e}"))
}

#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    master: MasterKey,
    /// For a local directory, reads go to the file directly: the store's own local reader
    /// hands out 8 KiB pieces, one blocking task each, which caps a download far below
    /// what the disk gives.
    local_root: Option<std::path::PathBuf>,
    /// The last hour whose uploads were checked for orphans.
    swept_until: Arc<std::sync::Mutex<Option<i64>>>,
}

const HOUR_MS: i64 = 3_600_000;
/// How far back the first orphan sweep of a process looks.
const FIRST_SWEEP_HOURS: i64 = 7 * 24;

/// Blobs are filed by the hour they were started, so that the orphan sweep lists only the
/// hours it has not looked at yet, never the whole store.
fn hour_prefix(ms: i64) -> String {
    use chrono::{TimeZone as _, Utc};
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("documents/%Y/%m/%d/%H").to_string())
        .unwrap_or_else(|| "documents/0000/00/00/00".into())
}

/// A blob that was written completely.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub key: String,
    pub sealed_key: String,
    /// Plaintext size.
    pub size: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
}

impl BlobStore {
    /// A local directory; files are synced before a write counts as done.
    pub fn local(dir: &std::path::Path, master: MasterKey) -> Result<BlobStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot create blob dir: {e}")))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(store_error)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        let mut blobs = BlobStore::with_store(Arc::new(store), master);
        blobs.local_root = Some(dir.to_path_buf());
        Ok(blobs)
    }

    /// The store the configuration names: the local directory, or an S3-compatible bucket.
    pub fn open(config: &super::config::Config, master: MasterKey) -> Result<BlobStore> {
        let Some(url) = config.blob_url.as_deref().filter(|u| !u.is_empty()) else {
            return BlobStore::local(&config.blob_dir(), master);
        };
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(Error::Internal(format!(
                "blob URL must be s3://bucket/prefix, not {url}"
            )));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in &config.blob_options {
            let key: object_store::aws::AmazonS3ConfigKey = key
                .parse()
                .map_err(|e| Error::Internal(format!("S3 option {key}: {e}")))?;
            builder = builder.with_config(key, value);
        }
        let s3 = builder.build().map_err(store_error)?;
        let store: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(
                s3,
                prefix.trim_matches('/'),
            ))
        };
        Ok(BlobStore::with_store(store, master))
    }

    pub fn with_store(store: Arc<dyn ObjectStore>, master: MasterKey) -> BlobStore {
        BlobStore {
            store,
            master,
            local_root: None,
            swept_until: Default::default(),
        }
    }

    /// A new blob, written as bytes are pushed; at most `limit` plaintext bytes.
    pub fn writer(&self, limit: i64, now: i64) -> Result<BlobWriter> {
        let key = format!("{}/{}", hour_prefix(now), uuid::Uuid::now_v7());
        let blob_key = random_bytes::<32>()?;
        let cipher = XChaCha20Poly1305::new_from_slice(&blob_key)
            .map_err(|_| Error::Internal("blob key".into()))?;
        let sealed_key = self.master.seal(&blob_key, &key)?;
        Ok(BlobWriter {
            store: self.store.clone(),
            path: Path::from(key.as_str()),
            key,
            sealed_key,
            cipher,
            hasher: Sha256::new(),
            // Grows with what arrives: most documents are far smaller than a chunk.
            pending: Vec::new(),
            sealing: VecDeque::new(),
            spare: Vec::new(),
            sealed: Vec::new(),
            multipart: None,
            part: if self.local_root.is_some() {
                LOCAL_PART
            } else {
                PART
            },
            counter: 0,
            size: 0,
            limit,
        })
    }

    /// The plaintext of a blob, as a stream of chunks checked one by one.
    pub async fn read(
        &self,
        key: &str,
        sealed_key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let blob_key = self.master.open(sealed_key, key)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&blob_key)
            .map_err(|_| Error::Internal("blob key".into()))?;
        let (inner, total) = match &self.local_root {
            Some(root) => {
                let file = tokio::fs::File::open(root.join(key))
                    .await
                    .map_err(|e| Error::Internal(format!("blob {key}: {e}")))?;
                let total = file
                    .metadata()
                    .await
                    .map_err(|e| Error::Internal(format!("blob {key}: {e}")))?
                    .len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 1024 * 1024)
                    .map(|r| {
                        r.map_err(|e| object_store::Error::Generic {
                            store: "local",
                            source: Box::new(e),
                        })
                    })
                    .boxed();
                (stream, total)
            }
            None => {
                let got = self
                    .store
                    .get(&Path::from(key))
                    .await
                    .map_err(store_error)?;
                let total = got.meta.size;
                (got.into_stream(), total)
            }
        };
        let state = ReadState {
            inner,
            cipher,
            buf: BytesMut::with_capacity(CHUNK + TAG),
            offset: 0,
            total,
            counter: 0,
            done: false,
        };
        Ok(futures_util::stream::try_unfold(state, ReadState::next).boxed())
    }

    /// Keys of blobs started in whole hours before `cutoff` that no earlier call listed.
    pub async fn written_before(&self, cutoff: i64) -> Result<Vec<String>> {
        let last_full_hour = cutoff.div_euclid(HOUR_MS) - 1;
        let from = self
            .swept_until
            .lock()
            .ok()
            .and_then(|g| *g)
            .map(|h| h + 1)
            .unwrap_or(last_full_hour - FIRST_SWEEP_HOURS);
        let mut keys = Vec::new();
        for hour in from..=last_full_hour {
            let prefix = Path::from(hour_prefix(hour * HOUR_MS));
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                keys.push(meta.map_err(store_error)?.location.to_string());
            }
        }
        if let Ok(mut g) = self.swept_until.lock() {
            *g = Some(last_full_hour.max(g.unwrap_or(i64::MIN)));
        }
        Ok(keys)
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }
}

pub struct BlobWriter {
    store: Arc<dyn ObjectStore>,
    path: Path,
    key: String,
    sealed_key: String,
    cipher: XChaCha20Poly1305,
    hasher: Sha256,
    /// Plaintext not yet sealed, at most a batch. A full batch goes to be sealed only once a
    /// byte beyond it arrives, so that the last chunk is always sealed as the last.
    pending: Vec<u8>,
    /// Batches being sealed on the blocking pool, oldest first.
    sealing: VecDeque<JoinHandle<Result<Sealed>>>,
    /// Batch buffers the sealing gave back, to fill again.
    spare: Vec<Vec<u8>>,
    /// Sealed bytes not yet sent (a small blob goes up whole at the end).
    sealed: Vec<u8>,
    multipart: Option<WriteMultipart>,
    /// Bytes per part of a multipart upload.
    part: usize,
    counter: u64,
    size: i64,
    limit: i64,
}

/// The sealed chunks of a batch, and its plaintext buffer back.
struct Sealed {
    chunks: Vec<Vec<u8>>,
    buffer: Vec<u8>,
}

/// One chunk sealed, in a buffer of its own with room for its tag.
fn seal(cipher: &XChaCha20Poly1305, piece: &[u8], counter: u64, last: bool) -> Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(piece.len() + TAG);
    chunk.extend_from_slice(piece);
    cipher
        .encrypt_in_place(&nonce(counter, last), b"", &mut chunk)
        .map_err(|_| Error::Internal("chunk seal failed".into()))?;
    Ok(chunk)
}

/// Seals whole chunks of plaintext, numbered from `first`; none of them is the last.
fn seal_batch(cipher: &XChaCha20Poly1305, mut plain: Vec<u8>, first: u64) -> Result<Sealed> {
    let chunks = plain
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, piece)| seal(cipher, piece, first + i as u64, false))
        .collect::<Result<Vec<_>>>()?;
    plain.clear();
    Ok(Sealed {
        chunks,
        buffer: plain,
    })
}

impl BlobWriter {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Plaintext bytes so far.
    pub fn size(&self) -> i64 {
        self.size
    }

    /// Takes more plaintext; refuses (`Error::TooLarge`) once the limit is passed.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.size += data.len() as i64;
        if self.size > self.limit {
            return Err(Error::TooLarge);
        }
        self.hasher.update(data);
        while !data.is_empty() {
            if self.pending.len() == BATCH {
                self.seal_pending().await?;
            }
            let take = (BATCH - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Hands the full batch to the blocking pool to be sealed while more arrives: hashing
    /// and reading go on here meanwhile, so a large upload keeps two cores busy.
    async fn seal_pending(&mut self) -> Result<()> {
        if self.sealing.len() >= BATCHES_IN_FLIGHT {
            self.take_sealed().await?;
        }
        let fresh = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH));
        let plain = std::mem::replace(&mut self.pending, fresh);
        let (cipher, first) = (self.cipher.clone(), self.counter);
        self.counter += (BATCH / CHUNK) as u64;
        self.sealing.push_back(tokio::task::spawn_blocking(move || {
            seal_batch(&cipher, plain, first)
        }));
        Ok(())
    }

    /// Sends on the oldest batch being sealed, once it is.
    async fn take_sealed(&mut self) -> Result<()> {
        let Some(job) = self.sealing.pop_front() else {
            return Ok(());
        };
        let sealed = job
            .await
            .map_err(|e| Error::Internal(format!("sealing stopped: {e}")))??;
        self.spare.push(sealed.buffer);
        for chunk in sealed.chunks {
            self.send(chunk).await?;
        }
        Ok(())
    }

    /// Sends a sealed chunk: kept for one request while the blob is small, else in parts.
    async fn send(&mut self, chunk: Vec<u8>) -> Result<()> {
        if let Some(mp) = self.multipart.as_mut() {
            mp.wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(store_error)?;
            mp.put(Bytes::from(chunk));
            return Ok(());
        }
        self.sealed.extend_from_slice(&chunk);
        if self.sealed.len() > SINGLE_PUT_MAX {
            let upload = self
                .store
                .put_multipart(&self.path)
                .await
                .map_err(store_error)?;
            let mut mp = WriteMultipart::new_with_chunk_size(upload, self.part);
            mp.put(Bytes::from(std::mem::take(&mut self.sealed)));
            self.multipart = Some(mp);
        }
        Ok(())
    }

    /// Seals what is left (the last chunk as the last) and completes the upload.
    pub async fn finish(mut self) -> Result<StoredBlob> {
        while !self.sealing.is_empty() {
            self.take_sealed().await?;
        }
        let rest = std::mem::take(&mut self.pending);
        // At least one chunk, also for an empty document; the last may be a whole one.
        let mut pieces: Vec<&[u8]> = rest.chunks(CHUNK).collect();
        if pieces.is_empty() {
            pieces.push(&[]);
        }
        let count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let chunk = seal(&self.cipher, piece, self.counter, i + 1 == count)?;
            self.counter += 1;
            self.send(chunk).await?;
        }
        match self.multipart.take() {
            Some(mp) => {
                mp.finish().await.map_err(store_error)?;
            }
            None => {
                let payload = PutPayload::from(std::mem::take(&mut self.sealed));
                self.store
                    .put(&self.path, payload)
                    .await
                    .map_err(store_error)?;
            }
        }
        Ok(StoredBlob {
            key: self.key,
            sealed_key: self.sealed_key,
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }

    /// Drops an unfinished upload, leaving nothing behind.
    pub async fn abort(mut self) {
        if let Some(mp) = self.multipart.take()
            && let Err(e) = mp.abort().await
        {
            tracing::warn!(blob = %self.key, error = %e, "cannot abort an upload");
        }
    }
}

struct ReadState {
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    cipher: XChaCha20Poly1305,
    buf: BytesMut,
    offset: u64,
    total: u64,
    counter: u64,
    done: bool,
}

impl ReadState {
    async fn next(mut self) -> Result<Option<(Bytes, ReadState)>> {
        const SEALED: usize = CHUNK + TAG;
        if self.done {
            return Ok(None);
        }
        loop {
            let remaining = self.total - self.offset;
            let want = SEALED.min(remaining as usize);
            if self.buf.len() >= want {
                let last = want as u64 == remaining;
                let mut chunk = self.buf.split_to(want).to_vec();
                self.cipher
                    .decrypt_in_place(&nonce(self.counter, last), b"", &mut chunk)
                    .map_err(|_| Error::Internal("a stored document does not open".into()))?;
                self.counter += 1;
                self.offset += want as u64;
                self.done = last;
                return Ok(Some((Bytes::from(chunk), self)));
            }
            match self.inner.next().await {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(e)) => return Err(store_error(e)),
                None => {
                    return Err(Error::Internal("a stored document is cut short".into()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn roundtrip(len: usize) {
        let store = BlobStore::with_store(
            Arc::new(object_store::memory::InMemory::new()),
            MasterKey::from_bytes(&[1u8; 32]).unwrap(),
        );
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut w = store.writer(i64::MAX, 0).unwrap();
        for piece in data.chunks(10_000) {
            w.write(piece).await.unwrap();
        }
        let blob = w.finish().await.unwrap();
        assert_eq!(blob.size, len as i64);
        assert_eq!(blob.sha256, hex::encode(Sha256::digest(&data)));
        let mut s = store.read(&blob.key, &blob.sealed_key).await.unwrap();
        let mut back = Vec::new();
        while let Some(piece) = s.next().await {
            back.extend_from_slice(&piece.unwrap());
        }
        assert_eq!(back, data);
    }

    #[tokio::test]
    async fn documents_of_every_size_come_back_as_they_went_in() {
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK,
            BATCH - 1,
            BATCH,
            BATCH + 1,
            3 * BATCH,
            SINGLE_PUT_MAX + 12_345,
        ] {
            roundtrip(len).await;
        }
    }

    #[tokio::test]
    async fn a_write_past_the_limit_is_refused() {
        let store = BlobStore::with_store(
            Arc::new(object_store::memory::InMemory::new()),
            MasterKey::from_bytes(&[1u8; 32]).unwrap(),
        );
        let mut w = store.writer(10, 0).unwrap();
        w.write(b"0123456789").await.unwrap();
        assert!(matches!(w.write(b"x").await, Err(Error::TooLarge)));
    }

    #[tokio::test]
    async fn a_cut_or_altered_blob_does_not_open() {
        let mem = Arc::new(object_store::memory::InMemory::new());
        let store = BlobStore::with_store(mem.clone(), MasterKey::from_bytes(&[1u8; 32]).unwrap());
        let mut w = store.writer(i64::MAX, 0).unwrap();
        w.write(&vec![5u8; 2 * CHUNK + 10]).await.unwrap();
        let blob = w.finish().await.unwrap();
        let path = Path::from(blob.key.as_str());
        let sealed = mem.get(&path).await.unwrap().bytes().await.unwrap();
        // Cut off after the first chunk: the first chunk was not sealed as the last one.
        mem.put(&path, PutPayload::from(sealed.slice(..CHUNK + TAG)))
            .await
            .unwrap();
        let mut s = store.read(&blob.key, &blob.sealed_key).await.unwrap();
        assert!(s.next().await.unwrap().is_err());
    }
}
