//! Checks on every IPC argument before it reaches the core: ids, lengths, enums, numbers,
//! page sizes and paths. The window is not trusted (a compromised page can call any granted
//! command with any JSON), so each command checks its arguments here first; a bad one is
//! refused as `{code: "invalid", message}` whose message starts with the field's name as the
//! window sends it (`caseId`, `req.final_text`, `filter.band`).

use crate::dto::{AuditFilterDto, DecideDto, ErrorDto, FilterDto};
use signoff_core::case::{validate_id, MAX_FIELD_BYTES};
use signoff_core::{Band, CaseStatus, DispositionKind, QueueCursor};
use std::path::{Component, Path};

/// The largest page the queue and audit views may ask for (they ask for ~50).
pub const MAX_PAGE: u32 = 500;
/// The most evidence passages one call may retrieve.
pub const MAX_EVIDENCE: u32 = 50;
/// The longest short text: names, labels, codes, versions, actors.
pub const MAX_SHORT_BYTES: usize = 200;
/// The longest full-text query.
pub const MAX_QUERY_BYTES: usize = 4000;
/// The longest path accepted for an export.
pub const MAX_PATH_BYTES: usize = 4096;
/// The largest file the import dialog may hand over in one call.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;
/// The longest file name sent with an import.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// The longest queue or audit cursor (four or two decimal integers).
const MAX_CURSOR_BYTES: usize = 100;

/// The error for a bad argument: `field` as the window names it, then why.
pub fn invalid(field: &str, reason: impl std::fmt::Display) -> ErrorDto {
    ErrorDto {
        code: "invalid".into(),
        message: format!("{field}: {reason}"),
    }
}

type Res<T> = Result<T, ErrorDto>;

/// A case id as the store accepts it (non-empty, no surrounding spaces or control
/// characters, at most 200 bytes).
pub fn case_id(field: &str, id: &str) -> Res<()> {
    validate_id(id).map_err(|e| match e {
        signoff_core::CoreError::Invalid { reason, .. } => invalid(field, reason),
    })
}

/// A positive sequence number (cases, dispositions and actions are numbered from 1).
pub fn seq(field: &str, n: i64) -> Res<()> {
    if n < 1 {
        return Err(invalid(field, format!("must be 1 or more, not {n}")));
    }
    Ok(())
}

/// An audit log index (from 0; the store keeps them as SQLite integers).
pub fn log_index(field: &str, index: u64) -> Res<()> {
    if i64::try_from(index).is_err() {
        return Err(invalid(field, format!("{index} is past any log")));
    }
    Ok(())
}

/// A page size: 1 to [`MAX_PAGE`].
pub fn page(field: &str, limit: u32) -> Res<()> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(invalid(
            field,
            format!("a page holds 1 to {MAX_PAGE} rows, not {limit}"),
        ));
    }
    Ok(())
}

/// A count of evidence passages: 1 to [`MAX_EVIDENCE`].
pub fn evidence_count(field: &str, k: u32) -> Res<()> {
    if !(1..=MAX_EVIDENCE).contains(&k) {
        return Err(invalid(
            field,
            format!("ask for 1 to {MAX_EVIDENCE} passages, not {k}"),
        ));
    }
    Ok(())
}

/// Text of at most `max` bytes without NUL or other control characters except newlines and
/// tabs; `required` refuses an empty (all-space) value.
pub fn text(field: &str, s: &str, max: usize, required: bool) -> Res<()> {
    if required && s.trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if s.len() > max {
        return Err(invalid(
            field,
            format!("is {} bytes; at most {max} are accepted", s.len()),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(
            field,
            format!("contains the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// A one-line name (reviewer, approver, version, label): required, short, no line breaks.
pub fn name(field: &str, s: &str) -> Res<()> {
    text(field, s, MAX_SHORT_BYTES, true)?;
    if s.contains(['\n', '\r', '\t']) {
        return Err(invalid(field, "must be one line"));
    }
    Ok(())
}

/// One of a fixed set of words.
pub fn one_of<'a>(field: &str, s: &str, allowed: &[&'a str]) -> Res<&'a str> {
    allowed
        .iter()
        .find(|a| **a == s)
        .copied()
        .ok_or_else(|| invalid(field, format!("{s:?} is not one of {}", allowed.join(", "))))
}

/// A precision target for calibration: a finite number in [0, 1].
pub fn fraction(field: &str, x: f64) -> Res<()> {
    if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
        return Err(invalid(
            field,
            format!("must be a number from 0 to 1, not {x}"),
        ));
    }
    Ok(())
}

/// A keyset cursor string: short, then decoded by the DTO layer.
pub fn cursor<T>(field: &str, s: &str, decode: impl Fn(&str) -> Option<T>) -> Res<T> {
    if s.len() > MAX_CURSOR_BYTES {
        return Err(invalid(field, "is not a cursor this app produced"));
    }
    decode(s).ok_or_else(|| invalid(field, format!("malformed cursor {s:?}")))
}

/// Queue filters: known status and band, bounded label and query.
pub fn queue_filter(f: &FilterDto) -> Res<()> {
    if let Some(s) = set(&f.status) {
        CaseStatus::parse(s).map_err(|e| invalid("filter.status", core_reason(e)))?;
    }
    if let Some(b) = set(&f.band) {
        Band::parse(b).map_err(|e| invalid("filter.band", core_reason(e)))?;
    }
    if let Some(l) = set(&f.label) {
        name("filter.label", l)?;
    }
    if let Some(t) = set(&f.text) {
        text("filter.text", t, MAX_QUERY_BYTES, false)?;
    }
    Ok(())
}

/// Audit filters: known band and disposition, well-formed kind, actor and case id, and a time
/// range that is not backwards.
pub fn audit_filter(f: &AuditFilterDto) -> Res<()> {
    if let Some(a) = set(&f.actor) {
        name("filter.actor", a)?;
    }
    if let Some(d) = set(&f.disposition) {
        one_of("filter.disposition", d, &signoff_store::DISPOSITION_KINDS)?;
    }
    if let Some(b) = set(&f.band) {
        Band::parse(b).map_err(|e| invalid("filter.band", core_reason(e)))?;
    }
    if let Some(k) = set(&f.kind) {
        if k.len() > 64 || !k.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(invalid(
                "filter.kind",
                format!("{k:?} is not an entry kind (lower-case letters and _)"),
            ));
        }
    }
    if let Some(c) = set(&f.case_id) {
        case_id("filter.case_id", c)?;
    }
    if let (Some(from), Some(to)) = (f.from_ms, f.to_ms) {
        if from > to {
            return Err(invalid(
                "filter.from_ms",
                "the range starts after it ends (from_ms > to_ms)",
            ));
        }
    }
    Ok(())
}

/// A decision from the decision bar: positive case, known kind, short reason code, bounded
/// rationale and final text.
pub fn decision(d: &DecideDto) -> Res<DispositionKind> {
    seq("req.case_seq", d.case_seq)?;
    let kind = DispositionKind::parse(&d.kind).map_err(|e| invalid("req.kind", core_reason(e)))?;
    if let Some(r) = &d.reason_code {
        name("req.reason_code", r)?;
    }
    if let Some(r) = &d.rationale {
        text("req.rationale", r, MAX_FIELD_BYTES, false)?;
    }
    if let Some(t) = &d.final_text {
        text("req.final_text", t, MAX_FIELD_BYTES, false)?;
    }
    Ok(kind)
}

/// An export target as the window sends it: `~/…` (the export directory) or an absolute path,
/// without `..`, NUL or control characters, naming a file whose directory exists. Whether the
/// file already exists is the session's check (an export never overwrites).
pub fn export_path(field: &str, path: &str) -> Res<()> {
    let p = path.trim();
    text(field, p, MAX_PATH_BYTES, true)?;
    if p.contains(['\n', '\r', '\t']) {
        return Err(invalid(field, "must be one line"));
    }
    let relative = p.strip_prefix("~/").unwrap_or(p);
    let parsed = Path::new(relative);
    if parsed.components().any(|c| c == Component::ParentDir) {
        return Err(invalid(field, "may not contain `..`"));
    }
    if p.ends_with('/') || parsed.file_name().is_none() {
        return Err(invalid(field, "must name a file, not a directory"));
    }
    if !p.starts_with("~/") && !parsed.is_absolute() {
        return Err(invalid(
            field,
            "give a full path (starting with / or ~/), not a relative one",
        ));
    }
    Ok(())
}

/// The bytes and name of a file handed to `stage_import`.
pub fn import_file(name: &str, bytes: &[u8]) -> Res<()> {
    text("x-file-name", name, MAX_FILE_NAME_BYTES, true)?;
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(invalid(
            "body",
            format!(
                "the file is {} bytes; import files of at most {MAX_IMPORT_BYTES} bytes from the app, or larger ones with `signoff import`",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// A queue cursor argument, decoded.
pub fn queue_cursor(field: &str, s: &str) -> Res<QueueCursor> {
    cursor(field, s, crate::dto::cursor_from_string)
}

/// A filter field that narrows (set and not blank).
fn set(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

fn core_reason(e: signoff_core::CoreError) -> String {
    match e {
        signoff_core::CoreError::Invalid { reason, .. } => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signoff_core::case::MAX_ID_BYTES;

    fn field_of(e: ErrorDto) -> String {
        assert_eq!(e.code, "invalid", "{}", e.message);
        e.message.split(':').next().unwrap_or_default().to_string()
    }

    #[test]
    fn case_ids_are_refused_when_empty_padded_too_long_or_with_controls() {
        assert!(case_id("caseId", "DEMO-0001").is_ok());
        for bad in ["", " A-1", "A\u{0}1", &"x".repeat(MAX_ID_BYTES + 1)] {
            assert_eq!(field_of(case_id("caseId", bad).unwrap_err()), "caseId");
        }
    }

    #[test]
    fn sequence_numbers_must_be_positive() {
        assert!(seq("seq", 1).is_ok());
        assert_eq!(field_of(seq("seq", 0).unwrap_err()), "seq");
        assert_eq!(
            field_of(seq("dispositionSeq", i64::MIN).unwrap_err()),
            "dispositionSeq"
        );
    }

    #[test]
    fn log_indexes_fit_the_store() {
        assert!(log_index("index", 0).is_ok());
        assert_eq!(field_of(log_index("index", u64::MAX).unwrap_err()), "index");
    }

    #[test]
    fn page_sizes_and_evidence_counts_are_bounded() {
        assert!(page("limit", 1).is_ok() && page("limit", MAX_PAGE).is_ok());
        assert_eq!(field_of(page("limit", 0).unwrap_err()), "limit");
        assert_eq!(field_of(page("limit", MAX_PAGE + 1).unwrap_err()), "limit");
        assert_eq!(field_of(page("limit", u32::MAX).unwrap_err()), "limit");
        assert!(evidence_count("k", 5).is_ok());
        assert_eq!(field_of(evidence_count("k", 0).unwrap_err()), "k");
        assert_eq!(field_of(evidence_count("k", 51).unwrap_err()), "k");
    }

    #[test]
    fn text_is_bounded_and_refuses_control_characters_but_keeps_newlines() {
        assert!(text("text", "line one\nline two\ttab", 100, true).is_ok());
        assert!(text("text", "", 100, false).is_ok());
        assert_eq!(field_of(text("text", "  ", 100, true).unwrap_err()), "text");
        assert_eq!(
            field_of(text("text", &"é".repeat(51), 100, false).unwrap_err()),
            "text"
        );
        let e = text("text", "bell\u{7}", 100, false).unwrap_err();
        assert!(e.message.contains("U+0007"), "{}", e.message);
        assert_eq!(field_of(name("name", "two\nlines").unwrap_err()), "name");
    }

    #[test]
    fn enums_name_the_field_and_the_choices() {
        assert_eq!(
            one_of("set", "decided", &["decided", "labelled"]),
            Ok("decided")
        );
        let e = one_of("set", "all", &["decided", "labelled"]).unwrap_err();
        assert_eq!(e.message, "set: \"all\" is not one of decided, labelled");
        assert!(fraction("targetHigh", 0.9).is_ok() && fraction("targetHigh", 1.0).is_ok());
        assert!(fraction("targetHigh", 0.0).is_ok());
        for bad in [-0.5, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(
                field_of(fraction("targetHigh", bad).unwrap_err()),
                "targetHigh"
            );
        }
    }

    #[test]
    fn queue_filters_refuse_unknown_statuses_and_bands() {
        let ok = FilterDto {
            status: Some("open".into()),
            band: Some("".into()),
            label: None,
            text: Some("refund".into()),
        };
        assert!(queue_filter(&ok).is_ok());
        let bad_status = FilterDto {
            status: Some("closed".into()),
            ..ok.clone()
        };
        assert_eq!(
            field_of(queue_filter(&bad_status).unwrap_err()),
            "filter.status"
        );
        let bad_band = FilterDto {
            band: Some("urgent".into()),
            ..ok.clone()
        };
        assert_eq!(
            field_of(queue_filter(&bad_band).unwrap_err()),
            "filter.band"
        );
        let long = FilterDto {
            text: Some("q".repeat(MAX_QUERY_BYTES + 1)),
            ..ok
        };
        assert_eq!(field_of(queue_filter(&long).unwrap_err()), "filter.text");
    }

    #[test]
    fn audit_filters_refuse_unknown_dispositions_odd_kinds_and_backwards_ranges() {
        assert!(audit_filter(&AuditFilterDto::default()).is_ok());
        let f = |edit: fn(&mut AuditFilterDto)| {
            let mut f = AuditFilterDto::default();
            edit(&mut f);
            field_of(audit_filter(&f).unwrap_err())
        };
        assert_eq!(
            f(|f| f.disposition = Some("delete".into())),
            "filter.disposition"
        );
        assert_eq!(f(|f| f.kind = Some("Robert'); DROP".into())), "filter.kind");
        assert_eq!(f(|f| f.band = Some("x".into())), "filter.band");
        assert_eq!(f(|f| f.case_id = Some(" padded".into())), "filter.case_id");
        assert_eq!(
            f(|f| {
                f.from_ms = Some(10);
                f.to_ms = Some(5);
            }),
            "filter.from_ms"
        );
    }

    #[test]
    fn decisions_check_case_kind_and_text_sizes() {
        let ok = DecideDto {
            case_seq: 3,
            kind: "approve".into(),
            reason_code: Some("resolved".into()),
            rationale: None,
            final_text: None,
        };
        assert_eq!(decision(&ok), Ok(DispositionKind::Approve));
        let bad = |edit: fn(&mut DecideDto)| {
            let mut d = ok.clone();
            edit(&mut d);
            field_of(decision(&d).unwrap_err())
        };
        assert_eq!(bad(|d| d.case_seq = 0), "req.case_seq");
        assert_eq!(bad(|d| d.kind = "approve!".into()), "req.kind");
        assert_eq!(
            bad(|d| d.reason_code = Some("x".repeat(201))),
            "req.reason_code"
        );
        assert_eq!(
            bad(|d| d.final_text = Some("x".repeat(MAX_FIELD_BYTES + 1))),
            "req.final_text"
        );
        assert_eq!(
            bad(|d| d.rationale = Some("a\u{0}b".into())),
            "req.rationale"
        );
    }

    #[test]
    fn export_paths_must_be_absolute_files_without_parent_steps() {
        assert!(export_path("path", "/home/r/audit.csv").is_ok());
        assert!(export_path("path", "~/audit.csv").is_ok());
        for bad in [
            "",
            "audit.csv",
            "/home/r/../../etc/passwd",
            "~/../x.csv",
            "/home/r/",
            "/home/r/a\u{0}.csv",
            "/home/r/a\n.csv",
        ] {
            assert_eq!(
                field_of(export_path("path", bad).unwrap_err()),
                "path",
                "{bad:?}"
            );
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(field_of(export_path("path", &long).unwrap_err()), "path");
    }

    #[test]
    fn import_files_need_a_name_and_a_bounded_size() {
        assert!(import_file("cases.jsonl", b"{}").is_ok());
        assert_eq!(field_of(import_file("", b"{}").unwrap_err()), "x-file-name");
        assert_eq!(
            field_of(import_file(&"n".repeat(256), b"").unwrap_err()),
            "x-file-name"
        );
    }

    #[test]
    fn cursors_are_short_and_well_formed() {
        assert!(queue_cursor("after", "1:2:3:4").is_ok());
        assert_eq!(field_of(queue_cursor("after", "1:2").unwrap_err()), "after");
        assert_eq!(
            field_of(queue_cursor("after", &"9".repeat(200)).unwrap_err()),
            "after"
        );
    }
}
