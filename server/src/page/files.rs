//! The page's files, read once at start-up and kept in memory with their
//! compressed forms.
//!
//! Only the files that were in the directory when the server started are
//! ever served: a request names a key in a map made from the directory's
//! listing, never a path on disk, so `..` and its encoded spellings have
//! nothing to reach. Only the directory's top level is read, which is all a
//! Trunk build writes (`index.html`, the JavaScript glue, the WebAssembly
//! module, the stylesheets): the page's addresses are then single names such
//! as `/style-b302ee083e74bb4c.css`, which can never be those of a gRPC
//! method (`/package.Service/Method`) or of the REST twin (`/api/v1/...`).
//!
//! Compression runs on a thread of its own ([`Page::compress_in_background`]).
//! brotli at its best setting takes about 2 s for the 0.9 MB WebAssembly
//! module in a release build (about 20 s in a debug build), and the lab
//! should not keep a class waiting for it: until a file's compressed forms
//! are ready it is sent as it is — the same bytes, only larger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;

use super::encoding::{COMPRESSED, Encoding};

/// The most page the server will hold, before compression. A Trunk build of
/// the lab is about 1 MB; holding it three times over (identity, gzip,
/// brotli) is nothing, but a mistyped `--page ~` should not read a home
/// directory into memory.
pub const MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;

/// Trunk's content-hashed files never change under their name: a browser may
/// keep them for a year without asking again.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else, `index.html` above all (it names the current hashed
/// files), is checked with the server on every load. `index.html` is 1.6 KB,
/// so the lab sends no ETag for a conditional request to save.
const REVALIDATE: &str = "no-cache";

/// One file of the page.
#[derive(Debug)]
pub struct PageFile {
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The `Cache-Control` it is served with.
    pub cache_control: &'static str,
    identity: Bytes,
    /// Each compressed form, once made: `None` inside when compressing did
    /// not make the file smaller (the file is then always sent as it is).
    gzip: OnceLock<Option<Bytes>>,
    brotli: OnceLock<Option<Bytes>>,
}

impl PageFile {
    fn new(name: &str, bytes: Vec<u8>) -> PageFile {
        PageFile {
            content_type: content_type(name),
            cache_control: if is_content_hashed(name) {
                IMMUTABLE
            } else {
                REVALIDATE
            },
            identity: Bytes::from(bytes),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    fn slot(&self, encoding: Encoding) -> Option<&OnceLock<Option<Bytes>>> {
        match encoding {
            Encoding::Identity => None,
            Encoding::Gzip => Some(&self.gzip),
            Encoding::Brotli => Some(&self.brotli),
        }
    }

    /// The file in `encoding`, if that form exists (yet).
    pub fn bytes(&self, encoding: Encoding) -> Option<&Bytes> {
        match self.slot(encoding) {
            None => Some(&self.identity),
            Some(slot) => slot.get()?.as_ref(),
        }
    }

    /// The file's own bytes.
    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// The compressed forms ready to send now.
    pub fn available(&self) -> Vec<Encoding> {
        COMPRESSED
            .into_iter()
            .filter(|&encoding| self.bytes(encoding).is_some())
            .collect()
    }

    /// Makes the `encoding` form (once; a second call does nothing) and
    /// returns its size, or `None` if it is not smaller than the file.
    fn compress(&self, encoding: Encoding) -> Option<usize> {
        let slot = self.slot(encoding)?;
        slot.get_or_init(|| {
            let compressed = encoding.compress(&self.identity);
            (compressed.len() < self.identity.len()).then(|| Bytes::from(compressed))
        })
        .as_ref()
        .map(Bytes::len)
    }
}

/// The page: its files by address (`/index.html`, `/style-….css`, …).
#[derive(Debug)]
pub struct Page {
    dir: PathBuf,
    files: BTreeMap<String, PageFile>,
}

impl Page {
    /// Reads the top level of `dir` (a `trunk build` output). Fails, saying
    /// what to do, when there is no such directory, no `index.html`, or more
    /// than [`MAX_PAGE_BYTES`]. Subdirectories and hidden files are skipped.
    pub fn load(dir: &Path) -> Result<Page, crate::Error> {
        let entries = std::fs::read_dir(dir).map_err(|error| {
            format!("cannot read the page directory {}: {error}", dir.display())
        })?;
        let mut files = BTreeMap::new();
        let mut total: u64 = 0;
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                tracing::warn!(file = ?entry.file_name(), "skipping a page file whose name is not UTF-8");
                continue;
            };
            // Follows symbolic links: the teacher chose the directory.
            let metadata = std::fs::metadata(entry.path())?;
            if name.starts_with('.') || !metadata.is_file() {
                if metadata.is_dir() && !name.starts_with('.') {
                    tracing::warn!(%name, "skipping a subdirectory of the page: only its top level is served");
                }
                continue;
            }
            total += metadata.len();
            if total > MAX_PAGE_BYTES {
                return Err(format!(
                    "the page directory {} holds more than {} MiB; is it really a `trunk build` output?",
                    dir.display(),
                    MAX_PAGE_BYTES / (1024 * 1024)
                )
                .into());
            }
            let bytes = std::fs::read(entry.path())?;
            files.insert(format!("/{name}"), PageFile::new(&name, bytes));
        }
        if !files.contains_key("/index.html") {
            return Err(format!(
                "the page directory {} has no index.html; build the page into it first: \
                 trunk build --release --offline --dist {}",
                dir.display(),
                dir.display()
            )
            .into());
        }
        Ok(Page {
            dir: dir.to_owned(),
            files,
        })
    }

    /// The file served at `path`: `/` is `index.html`; anything else must be
    /// exactly one of the page's addresses (percent-encoding decoded first).
    pub fn get(&self, path: &str) -> Option<&PageFile> {
        let path = if path == "/" { "/index.html" } else { path };
        let decoded = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()?;
        self.files.get(decoded.as_ref())
    }

    /// The page's addresses, for the log.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Makes every file's compressed forms, gzip for all files first (it is
    /// fast), then brotli, smallest file first within each (the stylesheets
    /// and `index.html` are ready in milliseconds, the module last), and
    /// logs what they weigh. Blocks: call it from a thread that may wait
    /// (see [`Page::compress_in_background`]).
    pub fn compress(&self) {
        let started = Instant::now();
        let mut smallest_first: Vec<&PageFile> = self.files.values().collect();
        smallest_first.sort_by_key(|file| file.identity.len());
        for encoding in [Encoding::Gzip, Encoding::Brotli] {
            for file in &smallest_first {
                file.compress(encoding);
            }
        }
        let size = |encoding| {
            self.files
                .values()
                .map(|file| file.bytes(encoding).map_or(file.identity.len(), Bytes::len))
                .sum::<usize>()
        };
        tracing::info!(
            dir = %self.dir.display(),
            identity_bytes = size(Encoding::Identity),
            gzip_bytes = size(Encoding::Gzip),
            brotli_bytes = size(Encoding::Brotli),
            seconds = started.elapsed().as_secs_f32(),
            "the page is compressed"
        );
    }

    /// Compresses the page on a thread of its own and returns at once;
    /// meanwhile each file goes out in the best form ready.
    pub fn compress_in_background(self: Arc<Self>) -> Arc<Self> {
        let page = Arc::clone(&self);
        let spawned = std::thread::Builder::new()
            .name("page-compression".into())
            .spawn(move || page.compress());
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start compressing the page; it is served uncompressed");
        }
        self
    }
}

/// The `Content-Type` for a file name. `application/wasm` matters: browsers
/// compile a module while it downloads (`WebAssembly.instantiateStreaming`)
/// only when the server says it is one.
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether Trunk put a content hash in the name: `style-b302ee083e74bb4c.css`,
/// `rpc-lab-web-cea19df4aab943fc_bg.wasm` — a 64-bit hash in hex after the
/// last `-`. Trunk does not pad it, so one name in sixteen has 15 digits
/// (`rpc-lab-web-767ddef25e58fe0_bg.wasm`, seen in a real build); fewer than
/// 8 would take a hash below 2³², which does not happen in practice and
/// keeps short words out.
pub fn is_content_hashed(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(_, tail)| {
        let digits = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        (8..=16).contains(&digits) && matches!(tail.as_bytes().get(digits), Some(b'.' | b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_what_browsers_require() {
        assert_eq!(content_type("rpc-lab-web-1_bg.wasm"), "application/wasm");
        assert_eq!(
            content_type("rpc-lab-web-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("style.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_content_hashed("style-b302ee083e74bb4c.css"));
        assert!(is_content_hashed("rpc-lab-web-cea19df4aab943fc_bg.wasm"));
        assert!(is_content_hashed("rpc-lab-web-cea19df4aab943fc.js"));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("by-hand.css"));
        // Trunk does not pad the hash: a 15-digit one is still a hash.
        assert!(is_content_hashed("rpc-lab-web-767ddef25e58fe0_bg.wasm"));
        assert!(is_content_hashed("rpc-lab-web-767ddef25e58fe0.js"));
        assert!(!is_content_hashed("style-b302ee0.css")); // 7 digits
        assert!(!is_content_hashed("style-b302ee083e74bb4c0.css")); // 17 digits
        assert!(!is_content_hashed("style-b302ee083e74bb4cx.css")); // not followed by . or _
        assert!(!is_content_hashed("style-b302ee083e74bb4g.css")); // not hex
    }

    #[test]
    fn a_file_is_compressed_only_when_that_makes_it_smaller() {
        let text = PageFile::new("a.css", "body { margin: 0 }\n".repeat(100).into_bytes());
        assert_eq!(text.available(), [], "nothing is ready before compressing");
        assert!(text.compress(Encoding::Gzip).is_some());
        assert!(text.compress(Encoding::Brotli).is_some());
        assert_eq!(text.available(), [Encoding::Brotli, Encoding::Gzip]);

        let tiny = PageFile::new("b.txt", b"x".to_vec());
        assert_eq!(tiny.compress(Encoding::Gzip), None);
        assert_eq!(tiny.compress(Encoding::Brotli), None);
        assert_eq!(tiny.available(), []);
        assert_eq!(tiny.bytes(Encoding::Identity).unwrap().as_ref(), b"x");
    }
}
