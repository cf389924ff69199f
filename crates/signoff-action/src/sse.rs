//! An incremental parser for server-sent events as OpenAI-compatible servers stream them:
//! `data: {...}` lines, events separated by a blank line, `:` comment lines ignored, and a
//! final `data: [DONE]`. Bytes go in as they arrive from the network (split anywhere, even
//! inside a UTF-8 character or a `\r\n`); complete events come out.

/// One complete event: its `data` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEvent {
    /// A data payload.
    Data(String),
    /// The `[DONE]` sentinel: the stream is finished.
    Done,
}

/// Parser state: bytes of the line being read and the data lines of the current event.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<String>,
    /// The previous byte was a `\r` (so a following `\n` belongs to the same line end).
    after_cr: bool,
    /// Lines that were not valid UTF-8 (counted, reported by the caller as malformed).
    pub bad_lines: usize,
}

/// Longest line the parser buffers (a server that never sends a newline cannot grow memory
/// without bound); longer lines are cut and counted as bad.
pub const MAX_LINE: usize = 1 << 20;

impl SseParser {
    /// A fresh parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut out);
                }
                b'\n' => self.end_line(&mut out),
                _ if self.line.len() >= MAX_LINE => {}
                _ => self.line.push(b),
            }
        }
        out
    }

    /// Whether bytes of an unfinished event are buffered (a stream that ends here was cut).
    pub fn pending(&self) -> bool {
        !self.line.is_empty() || !self.data.is_empty()
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        if raw.len() >= MAX_LINE {
            self.bad_lines += 1;
            return;
        }
        let Ok(line) = String::from_utf8(raw) else {
            self.bad_lines += 1;
            return;
        };
        if line.is_empty() {
            if !self.data.is_empty() {
                let data = std::mem::take(&mut self.data).join("\n");
                out.push(if data.trim() == "[DONE]" {
                    SseEvent::Done
                } else {
                    SseEvent::Data(data)
                });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.find(':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            self.data
                .push(value.strip_prefix(' ').unwrap_or(value).to_string());
        }
        // `event`, `id` and `retry` carry nothing a chat completion needs.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let wire =
            "data: {\"a\":\"h\u{e9}\"}\r\n\r\n: keep-alive\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        let bytes = wire.as_bytes();
        for cut in 0..bytes.len() {
            let mut p = SseParser::new();
            let mut ev = p.push(&bytes[..cut]);
            ev.extend(p.push(&bytes[cut..]));
            assert_eq!(
                ev,
                [
                    SseEvent::Data("{\"a\":\"h\u{e9}\"}".into()),
                    SseEvent::Data("x\ny".into()),
                    SseEvent::Done
                ],
                "cut at {cut}"
            );
            assert!(!p.pending());
            assert_eq!(p.bad_lines, 0);
        }
    }

    #[test]
    fn an_unfinished_event_is_pending_and_bad_utf8_is_counted() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"par").is_empty());
        assert!(p.pending());
        let mut p = SseParser::new();
        assert!(p.push(b"data: \xff\xfe\n\n").is_empty());
        assert_eq!(p.bad_lines, 1);
    }
}
