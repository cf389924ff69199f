//! Citation markers in reply text: the `[n]` a draft carries after a sentence to name the
//! passage it rests on. One reading of them for every layer, so the drafter, the claim check
//! and the store's check of a reviewer's edit never disagree about which markers a text has.
//!
//! A marker is `[`, optional spaces, one or more ASCII digits, optional spaces, `]`. Anything
//! else in brackets (`[a]`, `[1a]`, an unclosed `[3`) is ordinary text. `[[2]]` holds the
//! marker `[2]`.

/// One marker found in a text: its number and its byte span (the brackets included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The number inside the brackets.
    pub n: u32,
    /// Byte offset of the opening `[`.
    pub start: usize,
    /// Byte offset just past the closing `]`.
    pub end: usize,
}

/// Reads one marker starting at byte `at` (which must hold `[`); `None` when the bracket does
/// not open a marker.
fn marker_at(text: &str, at: usize) -> Option<Marker> {
    let b = text.as_bytes();
    let mut i = at + 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let digits = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == digits {
        return None;
    }
    let n = text[digits..i].parse().ok()?;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    (b.get(i) == Some(&b']')).then_some(Marker {
        n,
        start: at,
        end: i + 1,
    })
}

/// Every marker of a text, in order.
pub fn marker_spans(text: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find('[') {
        let at = from + rel;
        match marker_at(text, at) {
            Some(m) => {
                from = m.end;
                out.push(m);
            }
            None => from = at + 1,
        }
    }
    out
}

/// The numbers of every marker of a text, in order (repeats kept).
pub fn markers(text: &str) -> Vec<u32> {
    marker_spans(text).into_iter().map(|m| m.n).collect()
}

/// The text with every marker removed (nothing else changes; spaces around a marker stay).
pub fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for m in marker_spans(text) {
        out.push_str(&text[from..m.start]);
        from = m.end;
    }
    out.push_str(&text[from..]);
    out
}

/// Sentences of a reply, trimmed, each keeping the markers that follow it: a sentence ends at
/// `.`, `!` or `?` (with any closing quotes or brackets) followed by white space or the end,
/// and ` [1] [2]` after that end still belongs to it. Used to compare a reviewer's edit with
/// the draft sentence by sentence.
pub fn sentences_with_markers(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if !matches!(b[i], b'.' | b'!' | b'?') {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < b.len() && matches!(b[end], b'"' | b'\'' | b')') {
            end += 1;
        }
        if end < b.len() && !b[end].is_ascii_whitespace() {
            i = end;
            continue;
        }
        // Markers after the sentence belong to it: ` [1] [2]`.
        loop {
            let mut j = end;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            match (j < b.len() && b[j] == b'[')
                .then(|| marker_at(text, j))
                .flatten()
            {
                Some(m) => end = m.end,
                None => break,
            }
        }
        out.push(text[start..end].trim());
        start = end;
        i = end;
    }
    out.push(text[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_digits_in_brackets_with_optional_spaces() {
        assert_eq!(markers("a [1] b [2][x] [3"), [1, 2]);
        assert_eq!(markers("x [1] [a] [22] [3"), [1, 22]);
        assert_eq!(
            markers("[ 2 ] and [[4]] but not [1a] or [-1] or []"),
            [2, 4]
        );
        assert_eq!(markers("no markers"), Vec::<u32>::new());
        // A number too large for u32 is text, not a marker.
        assert_eq!(markers("[99999999999] [5]"), [5]);
    }

    #[test]
    fn spans_point_at_the_brackets() {
        let t = "Yes [1]. Ok [ 12 ]";
        let s = marker_spans(t);
        assert_eq!(&t[s[0].start..s[0].end], "[1]");
        assert_eq!(&t[s[1].start..s[1].end], "[ 12 ]");
        assert_eq!(s[1].n, 12);
    }

    #[test]
    fn stripping_removes_markers_only() {
        assert_eq!(
            strip_markers("Free [1] parking [x] [ 2 ]."),
            "Free  parking [x] ."
        );
        assert_eq!(strip_markers("[[3]]"), "[]");
        assert_eq!(strip_markers("é [1]é"), "é é");
    }

    #[test]
    fn sentences_keep_their_markers_and_quotes() {
        assert_eq!(
            sentences_with_markers(
                "A says: \"Parking is free.\" [1] [2] Breakfast costs extra. v1.2 ok?"
            ),
            [
                "A says: \"Parking is free.\" [1] [2]",
                "Breakfast costs extra.",
                "v1.2 ok?"
            ]
        );
        assert_eq!(
            sentences_with_markers("Open late. [ 3 ] Fine!"),
            ["Open late. [ 3 ]", "Fine!"]
        );
    }
}
