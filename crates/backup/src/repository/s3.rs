//! The repository on S3-compatible storage (AWS, MinIO, Ceph, Garage, ...), through OpenDAL's S3
//! service only: rustic's own backend crate would bring two dozen storage services with it. The
//! layout is restic's (`config`, `keys/`, `snapshots/`, `index/`, `data/XX/ID`), so `restic -r
//! s3:ENDPOINT/BUCKET/PREFIX` reads what Upkeep writes.
//!
//! rustic calls the backend from its own threads (rayon), none of which is in a tokio runtime:
//! the blocking operator runs its requests on a small runtime of this module's own.

use bytes::Bytes;
use opendal::options::{ListOptions, ReadOptions};
use rustic_core::{BytesList, ErrorKind, FileType, Id, ReadBackend, RusticError, RusticResult, WriteBackend};
use std::sync::OnceLock;

/// Where on S3, and as whom.
#[derive(Clone, Debug, PartialEq)]
pub struct S3Location {
    pub bucket: String,
    /// The key prefix the repository lives under (`upkeep` in `s3://bucket/upkeep`).
    pub prefix: String,
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`; AWS's when `None`.
    pub endpoint: Option<String>,
    pub region: String,
    /// Both, or neither (then the `AWS_*` environment variables and files are read).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl S3Location {
    /// `s3://bucket/prefix`, as the user wrote it.
    pub fn shown(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("upkeep-s3")
            .enable_all()
            .build()
            .expect("a runtime for S3 requests")
    })
}

#[derive(Clone, Debug)]
pub(super) struct S3Backend {
    operator: opendal::blocking::Operator,
    shown: String,
}

fn backend_error(what: &'static str, path: &str, err: opendal::Error) -> Box<RusticError> {
    RusticError::with_source(ErrorKind::Backend, what, err).attach_context("path", path.to_string())
}

impl S3Backend {
    pub(super) fn new(location: &S3Location) -> RusticResult<S3Backend> {
        // The HTTP client (reqwest, rustls) is installed once, process-wide; later calls do nothing.
        opendal::install_default();
        let mut builder = opendal::services::S3::default()
            .bucket(&location.bucket)
            .root(&format!("/{}", location.prefix.trim_matches('/')))
            .region(&location.region);
        if let Some(endpoint) = &location.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&location.access_key_id, &location.secret_access_key) {
            builder = builder.access_key_id(id).secret_access_key(secret);
        }
        let shown = location.shown();
        let operator = opendal::Operator::new(builder)
            .map_err(|e| backend_error("cannot use the S3 location `{path}`", &shown, e))?
            .layer(opendal::layers::RetryLayer::new().with_max_times(5));
        let _entered = runtime().enter();
        let operator = opendal::blocking::Operator::new(operator)
            .map_err(|e| backend_error("cannot use the S3 location `{path}`", &shown, e))?;
        Ok(S3Backend { operator, shown })
    }

    /// Whether a repository is there (its `config` file exists).
    pub(super) fn exists(&self) -> RusticResult<bool> {
        match self.operator.stat("config") {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(backend_error("cannot reach `{path}`", &self.shown, e)),
        }
    }

    fn path(tpe: FileType, id: &Id) -> String {
        let hex = id.to_hex();
        match tpe {
            FileType::Config => "config".into(),
            FileType::Pack => format!("data/{}/{}", &hex[..2], &*hex),
            _ => format!("{}/{}", tpe.dirname(), &*hex),
        }
    }
}

impl ReadBackend for S3Backend {
    fn location(&self) -> String {
        self.shown.clone()
    }

    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        if tpe == FileType::Config {
            return match self.operator.stat("config") {
                Ok(meta) => Ok(vec![(Id::default(), meta.content_length() as u32)]),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(backend_error("cannot read `{path}`", "config", e)),
            };
        }
        let dir = format!("{}/", tpe.dirname());
        let options = ListOptions { recursive: true, ..Default::default() };
        let lister =
            self.operator.lister_options(&dir, options).map_err(|e| backend_error("cannot list `{path}`", &dir, e))?;
        let mut found = Vec::new();
        for entry in lister {
            let entry = entry.map_err(|e| backend_error("cannot list `{path}`", &dir, e))?;
            if !entry.metadata().is_file() {
                continue;
            }
            if let (Some(id), Ok(size)) =
                (Id::parse_some(entry.name(), tpe), u32::try_from(entry.metadata().content_length()))
            {
                found.push((id, size));
            }
        }
        Ok(found)
    }

    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        let path = Self::path(tpe, id);
        let read = self.operator.read(&path).map_err(|e| backend_error("cannot read `{path}`", &path, e))?;
        Ok(read.to_bytes())
    }

    fn read_partial(&self, tpe: FileType, id: &Id, _cacheable: bool, offset: u32, length: u32) -> RusticResult<Bytes> {
        let path = Self::path(tpe, id);
        let range = u64::from(offset)..u64::from(offset) + u64::from(length);
        let options = ReadOptions { range: range.into(), ..Default::default() };
        let read =
            self.operator.read_options(&path, options).map_err(|e| backend_error("cannot read `{path}`", &path, e))?;
        Ok(read.to_bytes())
    }

    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        Self::path(tpe, id)
    }
}

impl WriteBackend for S3Backend {
    /// Object storage has no folders: nothing to make before the first write.
    fn create(&self) -> RusticResult<()> {
        Ok(())
    }

    fn write_bytes(&self, tpe: FileType, id: &Id, _cacheable: bool, buf: BytesList) -> RusticResult<()> {
        let path = Self::path(tpe, id);
        self.operator.write(&path, buf.into_vec()).map_err(|e| backend_error("cannot write `{path}`", &path, e))?;
        Ok(())
    }

    fn remove(&self, tpe: FileType, id: &Id, _cacheable: bool) -> RusticResult<()> {
        let path = Self::path(tpe, id);
        self.operator.delete(&path).map_err(|e| backend_error("cannot remove `{path}`", &path, e))
    }
}
