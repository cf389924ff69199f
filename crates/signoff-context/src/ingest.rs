//! Turning policy and knowledge files into corpus chunks: Markdown, plain text, HTML and JSON
//! knowledge bases (ABCD guidelines and kb, DSTC11 knowledge, a generic `[{id,title,text}]`).
//!
//! Each file becomes a [`Document`]: its extracted text (the file itself for Markdown and text,
//! the visible text for HTML, the entries laid out one after another for JSON) and the chunks
//! cut from it. A chunk's id comes from its source, its file and its structural position
//! (heading path and paragraph number, or the JSON key path), never from a running counter, so
//! an edit elsewhere in the file does not rename it; `start..end` are character (Unicode
//! scalar) offsets into the document text, so a citation can point at an exact span; `sha256`
//! covers id, title, text and flags. Everything here is pure: bytes in, chunks out.

use crate::error::{ContextError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Files larger than this are refused unread.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Paragraphs longer than this (in characters) are cut at sentence ends into parts.
pub const MAX_CHUNK_CHARS: usize = 1200;

/// The kinds of file the corpus takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Markdown (`.md`, `.markdown`): headings give the structure.
    Markdown,
    /// Plain text (`.txt`): blank lines separate paragraphs.
    Text,
    /// HTML (`.html`, `.htm`): visible text, headings give the structure.
    Html,
    /// A JSON knowledge base (`.json`).
    Json,
}

impl Format {
    /// The format a file name implies, or an error naming the extensions the corpus takes.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "md" | "markdown" => Format::Markdown,
            "txt" | "text" | "" => Format::Text,
            "html" | "htm" | "xhtml" => Format::Html,
            "json" => Format::Json,
            other => {
                return Err(input(
                    &path.display().to_string(),
                    None,
                    None,
                    format!(
                        "unsupported file type .{other}; the corpus takes Markdown (.md), text (.txt), HTML (.html, .htm) and JSON knowledge bases (.json)"
                    ),
                ));
            }
        })
    }

    /// The lowercase name stored with a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Html => "html",
            Format::Json => "json",
        }
    }
}

/// Whether a chunk may be shown to a person who asked for it (consent of whoever wrote it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    /// Policy text written by the organisation: no consent needed.
    #[default]
    NotNeeded,
    /// Its author agreed to its use.
    Granted,
    /// Its author withdrew consent: never retrieved.
    Withdrawn,
}

impl Consent {
    fn parse(s: &str) -> Option<Consent> {
        match s.trim().to_ascii_lowercase().as_str() {
            "not_needed" | "not-needed" | "none" => Some(Consent::NotNeeded),
            "granted" | "yes" | "true" => Some(Consent::Granted),
            "withdrawn" | "no" | "false" => Some(Consent::Withdrawn),
            _ => None,
        }
    }
}

/// Governance flags carried in a chunk's metadata; retrieval filters on them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkFlags {
    /// Restricted passages stay in the corpus (and its versions) but are never retrieved.
    #[serde(default)]
    pub restricted: bool,
    /// Consent of the author.
    #[serde(default)]
    pub consent: Consent,
}

impl ChunkFlags {
    /// Whether retrieval may return a chunk with these flags.
    pub fn retrievable(&self) -> bool {
        !self.restricted && self.consent != Consent::Withdrawn
    }

    fn canonical(&self) -> String {
        let consent = match self.consent {
            Consent::NotNeeded => "not_needed",
            Consent::Granted => "granted",
            Consent::Withdrawn => "withdrawn",
        };
        format!("restricted={};consent={consent}", self.restricted)
    }
}

/// One retrievable, citable piece of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Stable id: `source:file#structural/path`.
    pub id: String,
    /// Heading path or entry title.
    pub title: String,
    /// The text, exactly the document text between `start` and `end`.
    pub text: String,
    /// Start offset in the document text, in characters.
    pub start: usize,
    /// End offset (exclusive), in characters.
    pub end: usize,
    /// Governance flags.
    pub flags: ChunkFlags,
    /// SHA-256 (hex) over id, title, text and flags.
    pub sha256: String,
}

/// The hash a chunk is known by: SHA-256 over a framed encoding of id, title, text and flags.
pub fn chunk_sha256(id: &str, title: &str, text: &str, flags: &ChunkFlags) -> String {
    let mut h = Sha256::new();
    for part in [
        "signoff-chunk-v1",
        id,
        title,
        text,
        flags.canonical().as_str(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A file, read and cut into chunks.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The source it belongs to.
    pub source: String,
    /// The file name (without directories) it came from.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// SHA-256 (hex) of the file's bytes.
    pub file_sha256: String,
    /// The extracted text the chunks' offsets point into.
    pub text: String,
    /// The chunks, in document order.
    pub chunks: Vec<Chunk>,
}

fn input(file: &str, line: Option<usize>, field: Option<String>, message: String) -> ContextError {
    ContextError::Ingest {
        file: file.to_string(),
        line,
        field,
        message,
    }
}

/// Reads `path` and cuts it into chunks of `source`. Refuses (naming the file, and the line or
/// field where it can) oversized, binary, non-UTF-8 and unparseable files, JSON of a shape it
/// does not know, and files with no text.
pub fn ingest_file(path: &Path, source: &str) -> Result<Document> {
    let display = path.display().to_string();
    let format = Format::of(path)?;
    let meta = std::fs::metadata(path).map_err(|e| ContextError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if meta.is_dir() {
        return Err(input(&display, None, None, "is a directory".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(input(
            &display,
            None,
            None,
            format!(
                "the file is {} bytes; the corpus takes files up to {MAX_FILE_BYTES} bytes (split it)",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| ContextError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("file")
        .to_string();
    ingest_bytes(&display, &file, &bytes, format, source)
}

/// Cuts `bytes` (named `display` in errors, `file` in chunk ids) into chunks of `source`.
pub fn ingest_bytes(
    display: &str,
    file: &str,
    bytes: &[u8],
    format: Format,
    source: &str,
) -> Result<Document> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(input(
            display,
            None,
            None,
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(input(
            display,
            Some(line_of(bytes, at)),
            None,
            format!("binary data (a NUL byte at offset {at}); the corpus takes text files"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(e) => {
            let at = e.valid_up_to();
            return Err(input(
                display,
                Some(line_of(bytes, at)),
                None,
                format!("not valid UTF-8 (at byte {at}); save the file as UTF-8"),
            ));
        }
    };
    if source.trim().is_empty() {
        return Err(input(
            display,
            None,
            None,
            "the source name is empty".into(),
        ));
    }
    let prefix = format!("{source}:{file}#");
    let (doc_text, pieces) = match format {
        Format::Markdown => {
            let (flags, body_at) = front_matter(text, display)?;
            let blocks = markdown_blocks(text, body_at, true);
            (text.to_string(), blocks_to_pieces(text, &blocks, flags))
        }
        Format::Text => {
            let blocks = markdown_blocks(text, 0, false);
            (
                text.to_string(),
                blocks_to_pieces(text, &blocks, ChunkFlags::default()),
            )
        }
        Format::Html => {
            let (doc, blocks) = html_blocks(text);
            let pieces = blocks_to_pieces(&doc, &blocks, ChunkFlags::default());
            (doc, pieces)
        }
        Format::Json => json_pieces(text, display)?,
    };
    let chunks = finish(&prefix, &doc_text, pieces, source);
    if chunks.is_empty() {
        return Err(input(
            display,
            None,
            None,
            "the file holds no text to retrieve".into(),
        ));
    }
    Ok(Document {
        source: source.to_string(),
        file: file.to_string(),
        format,
        file_sha256: hex::encode(Sha256::digest(bytes)),
        text: doc_text,
        chunks,
    })
}

fn line_of(bytes: &[u8], at: usize) -> usize {
    bytes[..at.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A chunk before ids are made unique and offsets converted: byte range into the document.
struct Piece {
    path: String,
    title: String,
    start: usize,
    end: usize,
    flags: ChunkFlags,
}

/// A structural block of a text document: a heading (level 1–6) or a paragraph, as a byte
/// range of the document text.
struct Block {
    heading: Option<usize>,
    start: usize,
    end: usize,
}

/// Reads a `---` front matter block at the top of a Markdown file: `restricted: true` and
/// `consent: granted|withdrawn|not_needed` become the flags of every chunk.
fn front_matter(text: &str, display: &str) -> Result<(ChunkFlags, usize)> {
    let mut flags = ChunkFlags::default();
    let Some(rest) = text.strip_prefix("---\n") else {
        return Ok((flags, 0));
    };
    let Some(end) = rest.find("\n---") else {
        return Ok((flags, 0));
    };
    for (i, line) in rest[..end].lines().enumerate() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "restricted" => {
                flags.restricted = match v {
                    "true" | "yes" => true,
                    "false" | "no" => false,
                    _ => {
                        return Err(input(
                            display,
                            Some(i + 2),
                            Some("restricted".into()),
                            format!("expected true or false, found {v:?}"),
                        ));
                    }
                }
            }
            "consent" => {
                flags.consent = Consent::parse(v).ok_or_else(|| {
                    input(
                        display,
                        Some(i + 2),
                        Some("consent".into()),
                        format!("expected granted, withdrawn or not_needed, found {v:?}"),
                    )
                })?
            }
            _ => {}
        }
    }
    let after = 4 + end + 4;
    Ok((flags, after.min(text.len())))
}

/// Blocks of `text` from byte `from`: paragraphs (runs of non-blank lines) and, when
/// `markdown`, ATX headings (`#`…`######`) with fenced code kept inside one paragraph. Plain
/// text is paragraphs only (a `#` at a line start is just text).
fn markdown_blocks(text: &str, from: usize, markdown: bool) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Option<(usize, usize)> = None;
    let mut fence: Option<&str> = None;
    let mut at = from;
    for raw in text[from..].split_inclusive('\n') {
        let line_start = at;
        at += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            if let Some(p) = para.as_mut() {
                p.1 = line_start + line.len();
            }
            continue;
        }
        if markdown && (trimmed.starts_with("```") || trimmed.starts_with("~~~")) {
            fence = Some(&trimmed[..3]);
            let p = para.get_or_insert((line_start, line_start));
            p.1 = line_start + line.len();
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if markdown
            && (1..=6).contains(&hashes)
            && trimmed[hashes..].starts_with([' ', '\t'])
            && line.len() - trimmed.len() < 4
        {
            if let Some((s, e)) = para.take() {
                blocks.push(Block {
                    heading: None,
                    start: s,
                    end: e,
                });
            }
            let title = trimmed[hashes..].trim().trim_end_matches('#').trim();
            if !title.is_empty() {
                let off = line_start + (line.len() - trimmed.len()) + trimmed.find(title).unwrap();
                blocks.push(Block {
                    heading: Some(hashes),
                    start: off,
                    end: off + title.len(),
                });
            }
            continue;
        }
        if trimmed.is_empty() {
            if let Some((s, e)) = para.take() {
                blocks.push(Block {
                    heading: None,
                    start: s,
                    end: e,
                });
            }
            continue;
        }
        let lead = line.len() - trimmed.len();
        let p = para.get_or_insert((line_start + lead, line_start + lead));
        p.1 = line_start + line.trim_end().len();
    }
    if let Some((s, e)) = para {
        blocks.push(Block {
            heading: None,
            start: s,
            end: e,
        });
    }
    blocks
}

/// Lowercase ASCII words joined by `-`, at most 60 characters: a heading as an id segment.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(|c| c.to_lowercase()) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    if out.chars().count() > 60 {
        out = out.chars().take(60).collect();
        out = out.trim_end_matches('-').to_string();
    }
    if out.is_empty() {
        "_".into()
    } else {
        out
    }
}

/// Paragraph blocks under their heading path become pieces `h1/h2/pN` (N counts paragraphs
/// within the innermost section, from 1), titled by the heading path.
fn blocks_to_pieces(text: &str, blocks: &[Block], flags: ChunkFlags) -> Vec<Piece> {
    let mut stack: Vec<(usize, String, String)> = Vec::new(); // level, slug, title
    let mut n = 0;
    let mut pieces = Vec::new();
    for b in blocks {
        if let Some(level) = b.heading {
            while stack.last().is_some_and(|(l, _, _)| *l >= level) {
                stack.pop();
            }
            let title = text[b.start..b.end].trim().to_string();
            stack.push((level, slug(&title), title));
            n = 0;
            continue;
        }
        n += 1;
        let mut path: Vec<&str> = stack.iter().map(|(_, s, _)| s.as_str()).collect();
        let p = format!("p{n}");
        path.push(&p);
        let title = stack
            .iter()
            .map(|(_, _, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" › ");
        split_long(
            text,
            b.start,
            b.end,
            &path.join("/"),
            &title,
            flags,
            &mut pieces,
        );
    }
    pieces
}

/// Cuts `text[start..end]` into parts of at most [`MAX_CHUNK_CHARS`], at sentence ends or
/// whitespace where it can; one part keeps `path`, several get `path.1`, `path.2` ….
fn split_long(
    text: &str,
    start: usize,
    end: usize,
    path: &str,
    title: &str,
    flags: ChunkFlags,
    out: &mut Vec<Piece>,
) {
    let mut parts = Vec::new();
    let mut s = start;
    while s < end {
        let rest = &text[s..end];
        if rest.chars().count() <= MAX_CHUNK_CHARS {
            parts.push((s, end));
            break;
        }
        let limit = rest
            .char_indices()
            .nth(MAX_CHUNK_CHARS)
            .map_or(rest.len(), |(i, _)| i);
        let window = &rest[..limit];
        let cut = ["\n", ". ", "? ", "! ", "; "]
            .iter()
            .filter_map(|sep| window.rfind(sep).map(|i| i + sep.len()))
            .filter(|i| *i > limit / 2)
            .max()
            .or_else(|| window.rfind(char::is_whitespace).filter(|i| *i > 0))
            .unwrap_or(limit);
        let piece = &rest[..cut];
        let trimmed_end = s + piece.trim_end().len();
        if trimmed_end > s {
            parts.push((s, trimmed_end));
        }
        s += cut;
        while s < end && text[s..].starts_with(char::is_whitespace) {
            s += text[s..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let many = parts.len() > 1;
    for (i, (a, b)) in parts.into_iter().enumerate() {
        out.push(Piece {
            path: if many {
                format!("{path}.{}", i + 1)
            } else {
                path.to_string()
            },
            title: title.to_string(),
            start: a,
            end: b,
            flags,
        });
    }
}

/// Unique ids, character offsets and hashes for the pieces of one document.
fn finish(prefix: &str, doc: &str, pieces: Vec<Piece>, source: &str) -> Vec<Chunk> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Byte → character offsets in one pass over the ordered boundaries.
    let mut bounds: Vec<usize> = pieces.iter().flat_map(|p| [p.start, p.end]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut to_char = HashMap::with_capacity(bounds.len());
    let (mut byte, mut chars) = (0usize, 0usize);
    for b in bounds {
        chars += doc[byte..b].chars().count();
        byte = b;
        to_char.insert(b, chars);
    }
    let mut out = Vec::with_capacity(pieces.len());
    for p in pieces {
        let text = &doc[p.start..p.end];
        if text.trim().is_empty() {
            continue;
        }
        let k = seen.entry(p.path.clone()).or_insert(0);
        *k += 1;
        let id = if *k == 1 {
            format!("{prefix}{}", p.path)
        } else {
            format!("{prefix}{}~{k}", p.path)
        };
        let title = if p.title.is_empty() {
            source.to_string()
        } else {
            p.title
        };
        out.push(Chunk {
            sha256: chunk_sha256(&id, &title, text, &p.flags),
            id,
            title,
            text: text.to_string(),
            start: to_char[&p.start],
            end: to_char[&p.end],
            flags: p.flags,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// HTML

/// Elements whose content is never visible text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "title", "head", "svg", "iframe", "object",
];
/// Elements that start or end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "blockquote",
    "pre",
    "hr",
    "dt",
    "dd",
    "dl",
    "form",
    "figure",
    "figcaption",
    "body",
    "html",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// Extracts the visible text of (possibly broken) HTML as paragraphs and headings: scripts,
/// styles and comments dropped, entities decoded, whitespace collapsed. Never fails: an
/// unclosed tag ends the text, an unclosed element ends at the end of the file.
fn html_blocks(html: &str) -> (String, Vec<Block>) {
    let mut doc = String::new();
    let mut blocks = Vec::new();
    let mut cur = String::new();
    let mut heading: Option<usize> = None;
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut i = 0;
    let flush =
        |cur: &mut String, heading: Option<usize>, doc: &mut String, blocks: &mut Vec<Block>| {
            let t = cur.trim();
            if !t.is_empty() {
                if !doc.is_empty() {
                    doc.push_str("\n\n");
                }
                let start = doc.len();
                doc.push_str(t);
                blocks.push(Block {
                    heading,
                    start,
                    end: doc.len(),
                });
            }
            cur.clear();
        };
    while i < bytes.len() {
        if bytes[i] == b'<' {
            if lower[i..].starts_with("<!--") {
                i = lower[i + 4..]
                    .find("-->")
                    .map_or(bytes.len(), |e| i + 4 + e + 3);
                continue;
            }
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            if next == b'!' || next == b'?' {
                i = lower[i..].find('>').map_or(bytes.len(), |e| i + e + 1);
                continue;
            }
            let closing = next == b'/';
            let name_at = i + 1 + usize::from(closing);
            let name_len = bytes[name_at..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() {
                // A lone `<` is text.
                cur.push('<');
                i += 1;
                continue;
            }
            let name = &lower[name_at..name_at + name_len];
            let end = tag_end(bytes, name_at + name_len);
            i = end;
            if !closing && SKIPPED.contains(&name) {
                let close = format!("</{name}");
                i = lower[i..].find(&close).map_or(bytes.len(), |e| {
                    let at = i + e;
                    tag_end(bytes, at + close.len())
                });
                continue;
            }
            if BLOCKS.contains(&name) {
                let level = name
                    .strip_prefix('h')
                    .and_then(|d| d.parse::<usize>().ok())
                    .filter(|l| (1..=6).contains(l));
                flush(&mut cur, heading, &mut doc, &mut blocks);
                heading = match (level, closing) {
                    (Some(l), false) => Some(l),
                    _ => None,
                };
            } else if !cur.ends_with(' ') && (name == "span" || name == "a") {
                // Inline elements join words; nothing to do but keep going.
            }
            continue;
        }
        // Text up to the next tag.
        let next = html[i..].find('<').map_or(html.len(), |e| i + e);
        push_text(&mut cur, &decode_entities(&html[i..next]));
        i = next;
    }
    flush(&mut cur, heading, &mut doc, &mut blocks);
    (doc, blocks)
}

/// The index just past the `>` closing a tag whose name ends at `from` (quotes respected);
/// the end of the input when the tag never closes.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut j = from;
    while j < bytes.len() {
        let b = bytes[j];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return j + 1,
            None => {}
        }
        j += 1;
    }
    bytes.len()
}

/// Appends text with runs of whitespace collapsed to one space.
fn push_text(cur: &mut String, t: &str) {
    for c in t.chars() {
        if c.is_whitespace() {
            if !cur.is_empty() && !cur.ends_with(' ') {
                cur.push(' ');
            }
        } else {
            cur.push(c);
        }
    }
}

/// Decodes HTML character references: numeric ones and the common named ones; anything else
/// stays as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let semi = rest[1..].find(';').map(|e| e + 1).filter(|e| *e <= 12);
        let decoded = semi.and_then(|e| {
            let name = &rest[1..e];
            let c = if let Some(num) = name.strip_prefix('#') {
                let v = match num.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => num.parse::<u32>().ok(),
                }?;
                Some(
                    char::from_u32(v)
                        .filter(|c| *c != '\0')
                        .unwrap_or('\u{fffd}'),
                )
            } else {
                named_entity(name)
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                if c != '\u{ad}' {
                    out.push(c);
                }
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "para" => '¶',
        "deg" => '°',
        "times" => '×',
        "divide" => '÷',
        "shy" => '\u{ad}',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// JSON knowledge bases

/// An entry of a JSON knowledge base before layout: key path, title, text, flags.
struct Entry {
    path: String,
    title: String,
    text: String,
    flags: ChunkFlags,
}

const SHAPES: &str = "an array of {\"id\",\"title\",\"text\"}; ABCD guidelines ({flow: {description, subflows: {name: {instructions, actions}}}}); an ABCD kb ({subflow: [action, …]}); or DSTC11 knowledge ({domain: {id: {name, faqs, reviews}}})";

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a JSON knowledge base, recognises its shape and lays its entries out one after
/// another (`title\ntext\n\n`), each chunk spanning its entry's text.
fn json_pieces(text: &str, display: &str) -> Result<(String, Vec<Piece>)> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        input(
            display,
            Some(e.line()),
            None,
            format!("not valid JSON: {e}"),
        )
    })?;
    let bad = |field: String, message: String| input(display, None, Some(field), message);
    let entries = match &v {
        Value::Array(items) => generic(items, &bad)?,
        Value::Object(map) if map.is_empty() => {
            return Err(input(
                display,
                None,
                None,
                "the JSON object is empty".into(),
            ));
        }
        Value::Object(map) => {
            let first = map.values().next().expect("not empty");
            if map.values().all(|v| v.is_array()) {
                abcd_kb(map, &bad)?
            } else if first.get("subflows").is_some() {
                abcd_guidelines(map, &bad)?
            } else if first
                .as_object()
                .and_then(|o| o.values().next())
                .is_some_and(|e| e.get("name").is_some())
            {
                dstc11(map, &bad)?
            } else {
                let (k, v) = map.iter().next().expect("not empty");
                return Err(bad(
                    k.clone(),
                    format!(
                        "unexpected JSON shape: this field holds {}, which fits none of the knowledge-base shapes the corpus reads: {SHAPES}",
                        kind(v)
                    ),
                ));
            }
        }
        other => {
            return Err(input(
                display,
                None,
                None,
                format!(
                    "unexpected JSON shape: the top level is {}; expected {SHAPES}",
                    kind(other)
                ),
            ));
        }
    };
    let mut doc = String::new();
    let mut pieces = Vec::new();
    for e in entries {
        if e.text.trim().is_empty() {
            continue;
        }
        doc.push_str(&e.title);
        doc.push('\n');
        let start = doc.len();
        doc.push_str(e.text.trim());
        let end = doc.len();
        doc.push_str("\n\n");
        split_long(&doc, start, end, &e.path, &e.title, e.flags, &mut pieces);
    }
    Ok((doc, pieces))
}

type Bad<'a> = dyn Fn(String, String) -> ContextError + 'a;

fn str_field<'v>(
    o: &'v serde_json::Map<String, Value>,
    key: &str,
    at: &str,
    bad: &Bad,
) -> Result<&'v str> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(bad(
            format!("{at}.{key}"),
            format!("expected a string, found {}", kind(other)),
        )),
        None => Err(bad(format!("{at}.{key}"), "missing".into())),
    }
}

fn obj<'v>(v: &'v Value, at: &str, bad: &Bad) -> Result<&'v serde_json::Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        bad(
            at.to_string(),
            format!("expected an object, found {}", kind(v)),
        )
    })
}

fn strings(v: &Value, at: &str, bad: &Bad) -> Result<Vec<String>> {
    let items = v.as_array().ok_or_else(|| {
        bad(
            at.to_string(),
            format!("expected an array of strings, found {}", kind(v)),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str().map(str::to_string).ok_or_else(|| {
                bad(
                    format!("{at}[{i}]"),
                    format!("expected a string, found {}", kind(s)),
                )
            })
        })
        .collect()
}

/// `[{"id","title","text", "restricted"?, "consent"?}]`.
fn generic(items: &[Value], bad: &Bad) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(items.len());
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let o = obj(item, &at, bad)?;
        for k in o.keys() {
            if !["id", "_id", "title", "text", "restricted", "consent"].contains(&k.as_str()) {
                return Err(bad(
                    format!("{at}.{k}"),
                    "unknown field (expected id, title, text, restricted, consent)".into(),
                ));
            }
        }
        let id = match o.get("id").or_else(|| o.get("_id")) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(bad(
                    format!("{at}.id"),
                    format!("expected a non-empty string, found {}", kind(other)),
                ));
            }
            None => return Err(bad(format!("{at}.id"), "missing".into())),
        };
        if let Some(prev) = ids.insert(id.clone(), i) {
            return Err(bad(
                format!("{at}.id"),
                format!("id {id:?} already used by [{prev}]"),
            ));
        }
        let title = match o.get("title") {
            None | Some(Value::Null) => String::new(),
            Some(_) => str_field(o, "title", &at, bad)?.to_string(),
        };
        let text = str_field(o, "text", &at, bad)?.to_string();
        let mut flags = ChunkFlags::default();
        match o.get("restricted") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => flags.restricted = *b,
            Some(other) => {
                return Err(bad(
                    format!("{at}.restricted"),
                    format!("expected true or false, found {}", kind(other)),
                ));
            }
        }
        if let Some(c) = o.get("consent") {
            flags.consent = c.as_str().and_then(Consent::parse).ok_or_else(|| {
                bad(
                    format!("{at}.consent"),
                    "expected \"granted\", \"withdrawn\" or \"not_needed\"".into(),
                )
            })?;
        }
        out.push(Entry {
            path: slug_path(&id),
            title,
            text,
            flags,
        });
    }
    Ok(out)
}

/// An entry id as an id path: kept as written when it is tame, slugged otherwise.
fn slug_path(id: &str) -> String {
    if id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
    {
        id.to_string()
    } else {
        slug(id)
    }
}

/// ABCD `guidelines.json`: per subflow, one entry for its instructions and one per action
/// (keyed by its button, so inserting an action renames nothing).
fn abcd_guidelines(map: &serde_json::Map<String, Value>, bad: &Bad) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (flow, fv) in map {
        let f = obj(fv, flow, bad)?;
        let subflows = f
            .get("subflows")
            .ok_or_else(|| bad(format!("{flow}.subflows"), "missing".into()))?;
        let subflows = obj(subflows, &format!("{flow}.subflows"), bad)?;
        for (name, sv) in subflows {
            let at = format!("{flow}.subflows.{name}");
            let s = obj(sv, &at, bad)?;
            let base = format!("{}/{}", slug(flow), slug(name));
            let title = format!("{flow} › {name}");
            if let Some(instr) = s.get("instructions") {
                let lines = strings(instr, &format!("{at}.instructions"), bad)?;
                out.push(Entry {
                    path: format!("{base}/instructions"),
                    title: title.clone(),
                    text: lines.join("\n"),
                    flags: ChunkFlags::default(),
                });
            }
            let Some(actions) = s.get("actions") else {
                continue;
            };
            let actions = actions.as_array().ok_or_else(|| {
                bad(
                    format!("{at}.actions"),
                    format!("expected an array, found {}", kind(actions)),
                )
            })?;
            for (i, av) in actions.iter().enumerate() {
                let aat = format!("{at}.actions[{i}]");
                let a = obj(av, &aat, bad)?;
                let button = match a.get("button") {
                    Some(Value::String(b)) if !b.trim().is_empty() => b.clone(),
                    _ => format!("step {}", i + 1),
                };
                let mut text = str_field(a, "text", &aat, bad)?.to_string();
                if let Some(sub) = a.get("subtext") {
                    for line in strings(sub, &format!("{aat}.subtext"), bad)? {
                        text.push_str("\n- ");
                        text.push_str(&line);
                    }
                }
                // A placeholder step ("x") says nothing a reviewer could be shown as evidence.
                if text.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
                    continue;
                }
                // A communication step's button is "N/A": the title then stops at the subflow.
                let titled = if button.eq_ignore_ascii_case("n/a") {
                    title.clone()
                } else {
                    format!("{title} › {button}")
                };
                out.push(Entry {
                    path: format!("{base}/{}", slug(&button)),
                    title: titled,
                    text,
                    flags: ChunkFlags::default(),
                });
            }
        }
    }
    Ok(out)
}

/// ABCD `kb.json`: subflow → the agent actions it requires, in order.
fn abcd_kb(map: &serde_json::Map<String, Value>, bad: &Bad) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (subflow, v) in map {
        let actions = strings(v, subflow, bad)?;
        let words = subflow.replace('_', " ");
        out.push(Entry {
            path: slug(subflow),
            title: words.clone(),
            text: format!(
                "Required actions for {words}, in order: {}.",
                actions.join(", ")
            ),
            flags: ChunkFlags::default(),
        });
    }
    Ok(out)
}

/// DSTC11 `knowledge.json`: per entity, one entry per FAQ and one per review sentence.
fn dstc11(map: &serde_json::Map<String, Value>, bad: &Bad) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (domain, dv) in map {
        let d = obj(dv, domain, bad)?;
        for (eid, ev) in d {
            let at = format!("{domain}.{eid}");
            let e = obj(ev, &at, bad)?;
            let name = str_field(e, "name", &at, bad)?;
            if let Some(faqs) = e.get("faqs") {
                for (i, qv) in obj(faqs, &format!("{at}.faqs"), bad)? {
                    let qat = format!("{at}.faqs.{i}");
                    let q = obj(qv, &qat, bad)?;
                    out.push(Entry {
                        path: format!("{domain}/{eid}/faq/{i}"),
                        title: name.to_string(),
                        text: format!(
                            "Q: {}\nA: {}",
                            str_field(q, "question", &qat, bad)?,
                            str_field(q, "answer", &qat, bad)?
                        ),
                        flags: ChunkFlags::default(),
                    });
                }
            }
            if let Some(reviews) = e.get("reviews") {
                for (r, rv) in obj(reviews, &format!("{at}.reviews"), bad)? {
                    let rat = format!("{at}.reviews.{r}");
                    let rev = obj(rv, &rat, bad)?;
                    let Some(sentences) = rev.get("sentences") else {
                        continue;
                    };
                    for (s, sv) in obj(sentences, &format!("{rat}.sentences"), bad)? {
                        let text = sv.as_str().ok_or_else(|| {
                            bad(
                                format!("{rat}.sentences.{s}"),
                                format!("expected a string, found {}", kind(sv)),
                            )
                        })?;
                        out.push(Entry {
                            path: format!("{domain}/{eid}/review/{r}/{s}"),
                            title: name.to_string(),
                            text: text.to_string(),
                            // Guests wrote these and agreed to publication with the dataset.
                            flags: ChunkFlags {
                                restricted: false,
                                consent: Consent::Granted,
                            },
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(text: &str) -> Document {
        ingest_bytes("t.md", "t.md", text.as_bytes(), Format::Markdown, "pol").unwrap()
    }

    fn slice(doc: &Document, c: &Chunk) -> String {
        doc.text
            .chars()
            .skip(c.start)
            .take(c.end - c.start)
            .collect()
    }

    #[test]
    fn markdown_chunks_by_heading_path_with_exact_offsets() {
        let doc = md(
            "# Refunds\n\nWe refund within 30 days.\nKeep the receipt.\n\n## Exceptions — é\n\nGift cards are final.\n\n```\ncode # not a heading\n```\n",
        );
        let ids: Vec<&str> = doc.chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "pol:t.md#refunds/p1",
                "pol:t.md#refunds/exceptions-é/p1",
                "pol:t.md#refunds/exceptions-é/p2"
            ]
        );
        assert_eq!(doc.chunks[1].title, "Refunds › Exceptions — é");
        for c in &doc.chunks {
            assert_eq!(slice(&doc, c), c.text, "{}", c.id);
        }
        assert_eq!(
            doc.chunks[0].text,
            "We refund within 30 days.\nKeep the receipt."
        );
        assert!(doc.chunks[2].text.contains("not a heading"));
    }

    #[test]
    fn ids_survive_an_edit_in_another_section_and_hashes_follow_content() {
        let a = md("# A\n\none\n\n# B\n\ntwo\n");
        let b = md("# A\n\none, edited\n\nnew para\n\n# B\n\ntwo\n");
        assert_eq!(a.chunks[1].id, b.chunks[2].id);
        assert_eq!(a.chunks[1].sha256, b.chunks[2].sha256);
        assert_eq!(a.chunks[0].id, b.chunks[0].id);
        assert_ne!(a.chunks[0].sha256, b.chunks[0].sha256);
    }

    #[test]
    fn long_paragraphs_split_at_sentence_ends() {
        let para = "This sentence is about refunds and returns. ".repeat(80);
        let doc = md(&para);
        assert!(doc.chunks.len() >= 3);
        for (i, c) in doc.chunks.iter().enumerate() {
            assert!(c.text.chars().count() <= MAX_CHUNK_CHARS);
            assert!(c.text.ends_with('.'), "{:?}", &c.text[c.text.len() - 10..]);
            assert_eq!(c.id, format!("pol:t.md#p1.{}", i + 1));
            assert_eq!(slice(&doc, c), c.text);
        }
    }

    #[test]
    fn front_matter_flags_every_chunk() {
        let doc = md("---\nrestricted: true\nconsent: withdrawn\n---\n# X\n\ntext\n");
        assert_eq!(doc.chunks.len(), 1);
        assert!(doc.chunks[0].flags.restricted);
        assert!(!doc.chunks[0].flags.retrievable());
        let e = ingest_bytes(
            "t.md",
            "t.md",
            b"---\nrestricted: maybe\n---\nx",
            Format::Markdown,
            "s",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.md:2: restricted:"), "{e}");
    }

    #[test]
    fn hostile_html_yields_only_visible_text() {
        let html = r#"<html><head><title>T</title><style>p{color:red}</style>
<script>alert("<p>pwned</p>")</script></head><body>
<h1>Returns &amp; refunds</h1><p>Customers may return items within 30&nbsp;days &mdash; no questions.<!-- secret --></p>
<SCRIPT type="text/javascript">document.write('x')</SCRIPT>
<p>Price &lt; &#163;50 &#x26; &bogus; stays<br>next line<div>unclosed <b>bold <i>text
<h2 class="a>b">Fees</h2><p>No fee &copy; 2024</p><p>tail <img src="x" onerror="alert(1)"> end <a href='#'>link"#;
        let doc = ingest_bytes("p.html", "p.html", html.as_bytes(), Format::Html, "web").unwrap();
        assert!(!doc.text.contains("alert"), "{}", doc.text);
        assert!(!doc.text.contains("pwned") && !doc.text.contains("secret"));
        assert!(
            !doc.text.contains("color") && !doc.text.contains('<') || doc.text.contains("Price <")
        );
        assert!(doc
            .text
            .contains("Customers may return items within 30 days — no questions."));
        assert!(doc.text.contains("Price < £50 & &bogus; stays"));
        assert!(doc.text.contains("unclosed bold text"));
        let fees = doc
            .chunks
            .iter()
            .find(|c| c.text.contains("No fee"))
            .unwrap();
        assert_eq!(fees.title, "Returns & refunds › Fees");
        assert_eq!(fees.text, "No fee © 2024");
        assert!(doc.chunks.last().unwrap().text.starts_with("tail"));
        for c in &doc.chunks {
            assert_eq!(slice(&doc, c), c.text);
        }
    }

    #[test]
    fn html_that_never_closes_still_gives_text_or_a_clear_error() {
        let doc = ingest_bytes(
            "x.html",
            "x.html",
            b"<p>hello <script>never closed",
            Format::Html,
            "s",
        )
        .unwrap();
        assert_eq!(doc.text, "hello");
        let e = ingest_bytes(
            "x.html",
            "x.html",
            b"<script>only script",
            Format::Html,
            "s",
        )
        .unwrap_err();
        assert!(e.to_string().contains("holds no text"), "{e}");
        let doc = ingest_bytes(
            "x.html",
            "x.html",
            b"a < b and <b unclosed",
            Format::Html,
            "s",
        )
        .unwrap();
        assert_eq!(doc.text, "a < b and");
    }

    #[test]
    fn entities_decode_and_bad_ones_stay_literal() {
        assert_eq!(
            decode_entities("&lt;&#60;&#x3C;&amp;x&#0;&#xD800;&unknown;&"),
            "<<<&x\u{fffd}\u{fffd}&unknown;&"
        );
    }

    #[test]
    fn abcd_guidelines_become_instruction_and_action_chunks() {
        let bytes = include_bytes!("../../../assets/demo/policies/abcd-guidelines.json");
        let doc = ingest_bytes(
            "g.json",
            "abcd-guidelines.json",
            bytes,
            Format::Json,
            "abcd",
        )
        .unwrap();
        assert!(doc.chunks.len() > 250, "{}", doc.chunks.len());
        let c = doc
            .chunks
            .iter()
            .find(|c| {
                c.id == "abcd:abcd-guidelines.json#product-defect/initiate-refund/validate-purchase"
            })
            .unwrap();
        assert_eq!(
            c.title,
            "Product Defect › Initiate Refund › Validate Purchase"
        );
        assert!(c.text.contains("Order ID"));
        assert_eq!(slice(&doc, c), c.text);
        assert!(
            doc.chunks.iter().all(|c| !c.title.contains("N/A")),
            "a communication step is titled by its subflow"
        );
        assert!(
            doc.chunks.iter().all(|c| c.text.trim() != "x"),
            "placeholder steps are not passages"
        );
        let unique: std::collections::HashSet<_> = doc.chunks.iter().map(|c| &c.id).collect();
        assert_eq!(unique.len(), doc.chunks.len());
    }

    #[test]
    fn kb_dstc11_and_generic_shapes_are_read() {
        let kb = br#"{"recover_username": ["pull-up-account", "verify-identity"]}"#;
        let doc = ingest_bytes("kb.json", "kb.json", kb, Format::Json, "kb").unwrap();
        assert_eq!(doc.chunks[0].id, "kb:kb.json#recover-username");
        assert!(doc.chunks[0]
            .text
            .contains("pull-up-account, verify-identity"));
        let d = br#"{"hotel": {"0": {"name": "A HOTEL", "faqs": {"0": {"question": "Pets?", "answer": "No."}}, "reviews": {"0": {"traveler_type": "x", "sentences": {"0": "Nice."}}}}}}"#;
        let doc = ingest_bytes("k.json", "k.json", d, Format::Json, "dstc").unwrap();
        assert_eq!(doc.chunks.len(), 2);
        assert_eq!(doc.chunks[0].id, "dstc:k.json#hotel/0/faq/0");
        assert_eq!(doc.chunks[0].text, "Q: Pets?\nA: No.");
        assert_eq!(doc.chunks[1].title, "A HOTEL");
        let g = br#"[{"id": "r1", "title": "Refunds", "text": "30 days."}, {"id": 7, "title": "Secret", "text": "x", "restricted": true}]"#;
        let doc = ingest_bytes("g.json", "g.json", g, Format::Json, "gen").unwrap();
        assert_eq!(doc.chunks[1].id, "gen:g.json#7");
        assert!(doc.chunks[1].flags.restricted);
    }

    #[test]
    fn wrong_json_shapes_name_the_field() {
        let cases: &[(&[u8], &str)] = &[
            (b"42", "top level is a number"),
            (b"{}", "empty"),
            (br#"{"a": 1}"#, "g.json: a: unexpected JSON shape"),
            (
                br#"[{"id": "x", "text": 3}]"#,
                "g.json: [0].text: expected a string, found a number",
            ),
            (
                br#"[{"id": "x", "text": "t", "body": "b"}]"#,
                "[0].body: unknown field",
            ),
            (
                br#"[{"id": "x", "text": "t"}, {"id": "x", "text": "u"}]"#,
                "[1].id: id \"x\" already used by [0]",
            ),
            (br#"[{"title": "t", "text": "u"}]"#, "[0].id: missing"),
            (
                br#"{"F": {"subflows": {"S": {"actions": [{"button": "B"}]}}}}"#,
                "F.subflows.S.actions[0].text: missing",
            ),
            (b"{\n  \"a\": [1,\n}", "g.json:3: not valid JSON"),
        ];
        for (bytes, want) in cases {
            let e = ingest_bytes("g.json", "g.json", bytes, Format::Json, "s")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }

    #[test]
    fn plain_text_is_paragraphs_and_a_hash_is_just_text() {
        let text = "# not a heading\nstill the first paragraph\n\n```\n\nsecond and third\n";
        let d = ingest_bytes("n.txt", "n.txt", text.as_bytes(), Format::Text, "s").unwrap();
        let texts: Vec<&str> = d.chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "# not a heading\nstill the first paragraph",
                "```",
                "second and third"
            ]
        );
        let md = ingest_bytes("n.md", "n.md", text.as_bytes(), Format::Markdown, "s").unwrap();
        assert_ne!(
            md.chunks.len(),
            d.chunks.len(),
            "Markdown reads the heading and the fence"
        );
    }

    #[test]
    fn binary_bad_utf8_oversized_and_unknown_types_are_refused() {
        let e = ingest_bytes("b.txt", "b.txt", b"ok\nthen\0binary", Format::Text, "s")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.txt:2: binary data"), "{e}");
        let e = ingest_bytes(
            "u.txt",
            "u.txt",
            b"line one\nbad \xff byte",
            Format::Text,
            "s",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("u.txt:2: not valid UTF-8"), "{e}");
        let t = tempfile::tempdir().unwrap();
        let big = t.path().join("big.txt");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = ingest_file(&big, "s").unwrap_err().to_string();
        assert!(e.contains("big.txt") && e.contains("up to"), "{e}");
        let e = ingest_file(&t.path().join("x.pdf"), "s")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported file type .pdf"), "{e}");
    }
}
