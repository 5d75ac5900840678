//! Content codings: which compressed form of a file a browser gets.
//!
//! A browser lists what it can decode in `Accept-Encoding`, for example
//! `gzip, deflate, br, zstd`, each optionally weighted with a q-value
//! (`br;q=0.8`; `q=0` means "never send me this"). The server picks one of
//! the forms it has and names it in `Content-Encoding`. Everything here is
//! pure: a header in, a choice out, so it is tested without a socket.
//!
//! Which codings a browser offers depends on more than the browser: Chromium
//! offers `br` (and `zstd`) only to "potentially trustworthy" origins —
//! HTTPS, `localhost` and `127.0.0.1` — and plain `gzip, deflate` to
//! `http://192.168.1.10:8080`. So in a classroom over plain HTTP, gzip is what
//! the students' Chrome will take; brotli pays off over HTTPS or on the
//! teacher's own machine.

use std::io::Write;

/// A form in which a file can be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The file's own bytes.
    Identity,
    /// gzip (RFC 1952): every browser decodes it.
    Gzip,
    /// brotli (RFC 7932): about a fifth smaller than gzip on our WebAssembly.
    Brotli,
}

/// The compressed codings the server can make, best first: when a browser
/// accepts both equally, it gets brotli.
pub const COMPRESSED: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

impl Encoding {
    /// The name in `Accept-Encoding` and `Content-Encoding`; `None` for
    /// identity, which a reply does not name.
    pub fn content_coding(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// `bytes` in this coding. Both compressors run at their best (slowest)
    /// setting: the page is compressed once and sent to every student, so a
    /// second of compression at start-up buys every download.
    pub fn compress(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Encoding::Identity => bytes.to_vec(),
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                // Writing into a Vec cannot fail.
                encoder.write_all(bytes).expect("gzip into memory");
                encoder.finish().expect("gzip into memory")
            }
            Encoding::Brotli => {
                let mut out = Vec::new();
                {
                    // Quality 11 is brotli's best; a 4 MiB window (22 bits)
                    // holds the whole page, and every browser accepts it.
                    let mut encoder =
                        brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, 22);
                    encoder.write_all(bytes).expect("brotli into memory");
                } // dropping the writer finishes the stream
                out
            }
        }
    }
}

/// brotli's best (and slowest) quality.
const BROTLI_QUALITY: u32 = 11;

/// The coding to send, given the request's `Accept-Encoding` (all its values
/// joined with commas, or `None` when absent) and the compressed forms the
/// file has.
///
/// Of the available compressed forms the browser accepts (q > 0), the one it
/// weights highest wins, brotli on a tie; if it accepts none, the file's own
/// bytes (identity is always acceptable to a browser, and the lab does not
/// refuse to serve a page). Without the header, a client gets identity.
pub fn choose(accept_encoding: Option<&str>, available: &[Encoding]) -> Encoding {
    let Some(header) = accept_encoding else {
        return Encoding::Identity;
    };
    let offers: Vec<Offer> = header.split(',').filter_map(Offer::parse).collect();
    let mut best: Option<(Encoding, f32)> = None;
    for encoding in COMPRESSED {
        if !available.contains(&encoding) {
            continue;
        }
        let q = weight(&offers, encoding);
        // Strictly greater: on a tie the earlier (better) coding stays.
        if q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((encoding, q));
        }
    }
    best.map_or(Encoding::Identity, |(encoding, _)| encoding)
}

/// One entry of `Accept-Encoding`: a coding (lower case) and its weight.
#[derive(Debug, PartialEq)]
struct Offer {
    coding: String,
    q: f32,
}

impl Offer {
    /// Parses `gzip`, `br;q=0.5`, `*;q=0`. An entry whose q-value is not a
    /// number from 0 to 1 is dropped: we do not guess what a client meant.
    fn parse(entry: &str) -> Option<Offer> {
        let mut parts = entry.split(';');
        let coding = parts.next()?.trim().to_ascii_lowercase();
        if coding.is_empty() {
            return None;
        }
        let mut q = 1.0;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some(Offer { coding, q })
    }
}

/// How much the client wants `encoding`: its own entry (`x-gzip` is an old
/// name for gzip), else the wildcard `*`, else 0 (not listed: not accepted).
fn weight(offers: &[Offer], encoding: Encoding) -> f32 {
    let names: &[&str] = match encoding {
        Encoding::Identity => &["identity"],
        Encoding::Gzip => &["gzip", "x-gzip"],
        Encoding::Brotli => &["br"],
    };
    let own = offers
        .iter()
        .filter(|offer| names.contains(&offer.coding.as_str()))
        .map(|offer| offer.q)
        .reduce(f32::max);
    own.or_else(|| offers.iter().find(|offer| offer.coding == "*").map(|o| o.q))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const BOTH: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    #[test]
    fn a_modern_browser_gets_brotli() {
        // Chromium to a trustworthy origin (localhost, HTTPS).
        assert_eq!(
            choose(Some("gzip, deflate, br, zstd"), &BOTH),
            Encoding::Brotli
        );
    }

    #[test]
    fn a_browser_on_plain_http_gets_gzip() {
        // Chromium to http://192.168.1.10:8080: no br on offer.
        assert_eq!(choose(Some("gzip, deflate"), &BOTH), Encoding::Gzip);
    }

    #[test]
    fn without_the_header_or_a_known_coding_the_bytes_go_as_they_are() {
        assert_eq!(choose(None, &BOTH), Encoding::Identity);
        assert_eq!(choose(Some(""), &BOTH), Encoding::Identity);
        assert_eq!(choose(Some("identity"), &BOTH), Encoding::Identity);
        assert_eq!(choose(Some("deflate, zstd"), &BOTH), Encoding::Identity);
    }

    #[test]
    fn q_zero_refuses_a_coding() {
        assert_eq!(choose(Some("br;q=0, gzip"), &BOTH), Encoding::Gzip);
        assert_eq!(choose(Some("gzip, br; q=0.0"), &BOTH), Encoding::Gzip);
        assert_eq!(choose(Some("br;q=0, gzip;q=0"), &BOTH), Encoding::Identity);
        assert_eq!(choose(Some("*;q=0"), &BOTH), Encoding::Identity);
    }

    #[test]
    fn the_higher_weight_wins_and_brotli_wins_a_tie() {
        assert_eq!(choose(Some("br;q=0.5, gzip;q=0.8"), &BOTH), Encoding::Gzip);
        assert_eq!(
            choose(Some("gzip;q=0.8, br;q=0.8"), &BOTH),
            Encoding::Brotli
        );
        assert_eq!(choose(Some("GZIP;Q=1, BR;Q=0.9"), &BOTH), Encoding::Gzip);
    }

    #[test]
    fn the_wildcard_stands_for_codings_not_named() {
        assert_eq!(choose(Some("*"), &BOTH), Encoding::Brotli);
        assert_eq!(choose(Some("br;q=0, *"), &BOTH), Encoding::Gzip);
        assert_eq!(choose(Some("x-gzip"), &BOTH), Encoding::Gzip);
    }

    #[test]
    fn only_forms_the_file_has_are_chosen() {
        assert_eq!(choose(Some("br, gzip"), &[Encoding::Gzip]), Encoding::Gzip);
        assert_eq!(choose(Some("br"), &[Encoding::Gzip]), Encoding::Identity);
        assert_eq!(choose(Some("br, gzip"), &[]), Encoding::Identity);
    }

    #[test]
    fn a_malformed_weight_drops_its_entry_only() {
        assert_eq!(choose(Some("br;q=abc, gzip"), &BOTH), Encoding::Gzip);
        assert_eq!(choose(Some("br;q=2, gzip"), &BOTH), Encoding::Gzip);
        assert_eq!(choose(Some(",,;, br"), &BOTH), Encoding::Brotli);
    }

    #[test]
    fn compressed_bytes_decompress_to_the_original() {
        let original = "fn main() { println!(\"hello\"); }\n".repeat(200);
        let gzip = Encoding::Gzip.compress(original.as_bytes());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, original);
        assert!(gzip.len() < original.len() / 10, "{} bytes", gzip.len());

        let brotli = Encoding::Brotli.compress(original.as_bytes());
        let mut back = String::new();
        brotli::Decompressor::new(&brotli[..], 4096)
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, original);
        assert!(brotli.len() < original.len() / 10, "{} bytes", brotli.len());

        assert_eq!(Encoding::Identity.compress(b"abc"), b"abc");
    }
}
