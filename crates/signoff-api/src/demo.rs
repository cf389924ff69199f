//! The demo workspace: the queue of one organisation, ABCD's online clothing retailer, whose
//! agent guidelines are its approved policy corpus; mostly Signoff-written customer messages
//! for ABCD's subflows plus a minority of public ones (see assets/demo/ATTRIBUTION.md),
//! embedded in the binary so the app opens on something real without any set-up.

use crate::workspace::Encryption;
use signoff_core::Clock;
use signoff_intake::bundled::EmbeddingTable;
use signoff_store::{ImportReport, Workspace};
use std::path::Path;

/// The demo cases, as committed in `assets/demo/cases.jsonl`.
pub const DEMO_CASES: &str = include_str!("../../../assets/demo/cases.jsonl");
/// Where the demo's data comes from, with licences.
pub const DEMO_ATTRIBUTION: &str = include_str!("../../../assets/demo/ATTRIBUTION.md");
/// Labelled rows the demo trains its intake model on (Signoff's own phrasings per ABCD
/// subflow, apart from the cases', with BANKING77 and CLINC150 rows that are not demo cases;
/// built by `scripts/build-demo-intake.py`).
pub const DEMO_TRAIN: &str = include_str!("../../../assets/demo/intake-train.jsonl");
/// Sentence vectors of the training rows and the demo cases, computed ahead of time (header:
/// encoder version, pooling, SHA-256 of the records, checked on read; see
/// `signoff_intake::bundled`), so seeding does not run the encoder over them. Rebuilt by
/// `SIGNOFF_BLESS=1 cargo test --release -p signoff-api --test demo_embeddings -- --ignored`.
pub const DEMO_EMBEDDINGS: &[u8] = include_bytes!("../../../assets/demo/intake-embeddings.bin");
/// Where [`DEMO_EMBEDDINGS`] comes from, named in its errors.
const DEMO_EMBEDDINGS_PATH: &str = "assets/demo/intake-embeddings.bin";
/// The demo's intake rules, copied into the workspace as its rules file.
pub const DEMO_RULES: &str = include_str!("../../../assets/demo/intake-rules.toml");
/// Settings key marking a workspace as seeded with the demo.
const DEMO_KEY: &str = "demo_seeded";
/// The demo's policy corpus (ABCD agent guidelines), as committed.
pub const DEMO_POLICIES: &[u8] =
    include_bytes!("../../../assets/demo/policies/abcd-guidelines.json");
/// The corpus source the demo policies are added as.
pub const DEMO_POLICY_SOURCE: &str = "abcd-guidelines";
/// The subject-matter expert named as approving the demo corpus.
pub const DEMO_SME: &str = "Priya Raman (demo policy owner)";
/// Settings key marking a workspace's demo corpus as added and approved.
const DEMO_CORPUS_KEY: &str = "demo_corpus_seeded";

/// Adds the demo policies as a corpus source and approves that version in the demo SME's
/// name, unless done before (also for demo workspaces seeded before the corpus existed).
pub fn seed_corpus(ws: &mut Workspace, clock: &dyn Clock) -> Result<bool, crate::ApiError> {
    if ws.setting(DEMO_CORPUS_KEY)?.is_some() {
        return Ok(false);
    }
    use signoff_store::corpus::ingest;
    let doc = ingest::ingest_bytes(
        "assets/demo/policies/abcd-guidelines.json",
        "abcd-guidelines.json",
        DEMO_POLICIES,
        ingest::Format::Json,
        DEMO_POLICY_SOURCE,
    )
    .map_err(|e| crate::ApiError::Request(e.to_string()))?;
    let added = ws.corpus_add(DEMO_POLICY_SOURCE, &[doc], Some(90), clock)?;
    if ws.approved_version()?.is_none() {
        ws.corpus_approve(&added.version, DEMO_SME, clock)?;
    }
    // Build the search indexes now (BM25, and the passage vectors when the embedding model
    // is installed) so the first case opened does not wait for the corpus to be embedded.
    // Without the model this builds BM25 only (the notes say so; retrieval says it again).
    ws.corpus_build_indexes(&added.version)?;
    ws.set_setting(DEMO_CORPUS_KEY, "1")?;
    Ok(true)
}

/// Imports the demo cases into `ws` unless it was seeded before. Idempotent.
pub fn seed(
    ws: &mut Workspace,
    clock: &dyn Clock,
) -> Result<Option<ImportReport>, crate::ApiError> {
    if ws.setting(DEMO_KEY)?.is_some() {
        return Ok(None);
    }
    let tmp = ws.dir().join("demo-cases.jsonl");
    std::fs::write(&tmp, shift_to(DEMO_CASES, clock.now()))
        .map_err(|e| crate::ApiError::Request(format!("{}: {e}", tmp.display())))?;
    let report = ws.import_file(&tmp, clock, &mut |_| {});
    let _ = std::fs::remove_file(&tmp);
    let report = report?;
    ws.set_setting(DEMO_KEY, "1")?;
    seed_intake(ws, &crate::intake::model_dir_from_env(), clock)?;
    Ok(Some(report))
}

/// The labelled rows the demo trains on ([`DEMO_TRAIN`]).
pub fn training_rows() -> Result<Vec<signoff_intake::Example>, crate::ApiError> {
    DEMO_TRAIN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| crate::ApiError::Request(format!("demo training rows: {e}")))
}

/// Gives the demo its intake: the rules file, a model trained on the bundled labelled rows
/// (MiniLM + lexical when the encoder is installed, else the lexical model), and a
/// classification of every demo case.
pub fn seed_intake(
    ws: &mut Workspace,
    encoder_dir: &Path,
    clock: &dyn Clock,
) -> Result<crate::intake::ClassifyReport, crate::ApiError> {
    let rules = ws.dir().join(crate::intake::RULES_FILE);
    if !rules.exists() {
        std::fs::write(&rules, DEMO_RULES)
            .map_err(|e| crate::ApiError::Request(format!("{}: {e}", rules.display())))?;
    }
    let rows = training_rows()?;
    let config = signoff_intake::Config::parse("ensemble").map_err(crate::ApiError::Request)?;
    let encoder = crate::intake::embedder(encoder_dir).ok();
    let pooling = config.pooling;
    let mut warnings = Vec::new();
    // The bundled vectors serve only the encoder version they were computed with; with any
    // other (or when the table does not read) the encoder embeds the rows now, as before.
    let known = match (&encoder, demo_embeddings()) {
        (None, _) => None,
        (Some(_), Err(e)) => {
            warnings.push(format!("{e}; embedding the demo rows now"));
            None
        }
        (Some(enc), Ok(t)) => {
            if t.pooling != pooling {
                warnings.push(format!(
                    "{DEMO_EMBEDDINGS_PATH} holds {} vectors but the demo model reads {}; embedding the demo rows now",
                    t.pooling.as_str(),
                    pooling.as_str()
                ));
            } else if t.encoder != enc.version() {
                warnings.push(format!(
                    "{DEMO_EMBEDDINGS_PATH} holds vectors of encoder {} but encoder {} is installed; embedding the demo rows now",
                    t.encoder,
                    enc.version()
                ));
            }
            Some(t)
        }
    };
    let (bytes, _) =
        crate::intake::train_artefact(&rows, &config, encoder.as_deref(), &mut |e, texts| {
            crate::intake::embed_known(e, texts, pooling, known.as_ref())
        })?;
    crate::intake::install(ws, &bytes, "device", clock)?;
    let mut report = crate::intake::classify_with(
        ws,
        &signoff_store::intake::Scope::Unclassified,
        encoder_dir,
        known.as_ref(),
        clock,
    )?;
    report.warnings.extend(warnings);
    Ok(report)
}

/// The bundled demo vectors ([`DEMO_EMBEDDINGS`]), checked against their checksum.
pub fn demo_embeddings() -> Result<EmbeddingTable, crate::ApiError> {
    Ok(EmbeddingTable::decode(
        DEMO_EMBEDDINGS,
        DEMO_EMBEDDINGS_PATH,
    )?)
}

/// The newest `received_at` in the demo file: seeding moves every time by `now - DEMO_ANCHOR`,
/// so the demo queue always looks like the last three days, with deadlines still ahead.
const DEMO_ANCHOR: &str = "2026-11-26T08:00:00Z";

/// Shifts `received_at` and `sla_due_at` of every demo line so the newest case arrived at `now`.
fn shift_to(jsonl: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let anchor: chrono::DateTime<chrono::Utc> = DEMO_ANCHOR.parse().expect("anchor");
    let delta = now - anchor;
    let mut out = String::with_capacity(jsonl.len());
    for line in jsonl.lines() {
        let shifted = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .map(|mut v| {
                for key in ["received_at", "sla_due_at"] {
                    let t = v
                        .get(key)
                        .and_then(|t| t.as_str())
                        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
                    if let Some(t) = t {
                        v[key] = (t + delta)
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            .into();
                    }
                }
                v.to_string()
            });
        out.push_str(shifted.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Opens the workspace in `dir` for writing with its device key (and its database key when it
/// is encrypted), seeding the demo when `is_demo`.
pub fn open(
    dir: &Path,
    is_demo: bool,
    key_file: Option<&Path>,
    clock: &dyn Clock,
) -> Result<Workspace, crate::ApiError> {
    open_with(dir, is_demo, key_file, clock, Encryption::Plain)
}

/// [`open`], creating the workspace encrypted when `encryption` asks and it does not exist yet.
pub fn open_with(
    dir: &Path,
    is_demo: bool,
    key_file: Option<&Path>,
    clock: &dyn Clock,
    encryption: Encryption,
) -> Result<Workspace, crate::ApiError> {
    let place = crate::keys::KeyPlace::new(key_file, dir, is_demo);
    // The keys first: without them, nothing is created.
    let key = crate::keys::load_or_create(place.device())?;
    let mut ws = crate::workspace::open_or_create(dir, &place, encryption)?;
    crate::keys::attach_device_key(&mut ws, &place, key)?;
    if is_demo {
        seed(&mut ws, clock)?;
        seed_corpus(&mut ws, clock)?;
        // Demo workspaces seeded before intake existed get their model on the next open.
        if ws.active_model()?.is_none() {
            seed_intake(&mut ws, &crate::intake::model_dir_from_env(), clock)?;
        }
    }
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_moves_the_demo_to_the_present() {
        let now: chrono::DateTime<chrono::Utc> = "2027-03-01T12:00:00Z".parse().unwrap();
        let out = shift_to(
            r#"{"id":"D","received_at":"2026-11-26T08:00:00Z","sla_due_at":"2026-11-26T12:00:00Z"}"#,
            now,
        );
        assert!(
            out.contains("\"received_at\":\"2027-03-01T12:00:00Z\""),
            "{out}"
        );
        assert!(
            out.contains("\"sla_due_at\":\"2027-03-01T16:00:00Z\""),
            "{out}"
        );
    }
}
