//! `signoff bench intake`: training time on N labelled rows, model load time (artefact decode
//! and sentence encoder), classification throughput in batches and one-case latency, and
//! peak memory (VmHWM). Prints a table and, with `--json`, one JSON line.

use crate::output::Out;
use anyhow::{bail, Result};
use signoff_api::intake;
use signoff_intake::artefact;
use signoff_intake::classifier::Input;
use signoff_intake::data::read_jsonl;
use signoff_intake::Config;
use std::path::Path;
use std::time::Instant;

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if readable.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Trains a configuration that fine-tunes the encoder (which `intake::train_artefact`, fed
/// precomputed embeddings, cannot): the classifier, with the training rows' tuned vectors as
/// its exemplars, as artefact bytes and a report (all the time counted as training).
fn tuned_artefact(
    examples: &[signoff_intake::Example],
    config: &Config,
    encoder: &signoff_intake::embed::Embedder,
) -> Result<(Vec<u8>, intake::TrainReport)> {
    let t = Instant::now();
    let (clf, emb) = signoff_intake::tune::train_tuned(examples, encoder, config)?;
    let labels = examples
        .iter()
        .map(|x| clf.labels.binary_search(&x.label).unwrap_or(0) as u32)
        .collect();
    let texts = examples.iter().map(|x| x.text.clone()).collect();
    let a = artefact::Artefact {
        embedding_version: Some(encoder.version().to_string()),
        exemplars: Some(artefact::Exemplars::new(texts, labels, &emb)),
        classifier: clf,
    };
    let (bytes, model_id) = artefact::encode_artefact(&a);
    let report = intake::TrainReport {
        model_id,
        heads: a.classifier.heads().to_string(),
        embedding_version: a.embedding_version.clone(),
        labels: a.classifier.labels.len(),
        rows: examples.len(),
        bytes: bytes.len(),
        embed_s: 0.0,
        train_s: t.elapsed().as_secs_f64(),
        fallback: None,
    };
    Ok((bytes, report))
}

/// Runs the benchmark on the first `rows` rows of `data`, scoring `cases` of them.
pub fn intake(data: &Path, rows: usize, cases: usize, model: &str, out: &Out) -> Result<()> {
    let mut examples = read_jsonl(data)?;
    if examples.len() < rows {
        bail!(
            "{} has {} rows; --rows {rows} needs at least that many",
            data.display(),
            examples.len()
        );
    }
    examples.truncate(rows);
    let config = Config::parse(model).map_err(anyhow::Error::msg)?;
    let encoder_dir = intake::model_dir_from_env();
    let t = Instant::now();
    let encoder = if config.embeddings {
        match intake::embedder(&encoder_dir) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("signoff: {e}; benchmarking the lexical model");
                None
            }
        }
    } else {
        None
    };
    let encoder_load_s = t.elapsed().as_secs_f64();
    let pooling = config.pooling;
    let (bytes, report) = match encoder.as_deref() {
        Some(e) if config.tune_epochs > 0 => tuned_artefact(&examples, &config, e)?,
        _ => intake::train_artefact(&examples, &config, encoder.as_deref(), &mut |e, texts| {
            e.embed_with(texts, pooling)
                .map_err(|e| signoff_intake::IntakeError::from(e).into())
        })?,
    };
    let t = Instant::now();
    let (a, _) = artefact::decode_artefact(&bytes)?;
    let decode_s = t.elapsed().as_secs_f64();
    let clf = &a.classifier;
    let texts: Vec<&str> = examples
        .iter()
        .take(cases)
        .map(|e| e.text.as_str())
        .collect();
    // Returns the cases classified and the seconds spent in the encoder.
    let classify_all = |texts: &[&str]| -> Result<(usize, f64)> {
        let t = Instant::now();
        let emb = match (&encoder, clf.dense.is_some() || a.exemplars.is_some()) {
            (Some(e), true) => Some(clf.embed(e, texts)?),
            _ => None,
        };
        let encoder_s = if emb.is_some() {
            t.elapsed().as_secs_f64()
        } else {
            0.0
        };
        let mut n = 0;
        for (i, text) in texts.iter().enumerate() {
            let emb_i = emb.as_ref().map(|e| e[i].as_slice());
            let v = clf.classify(Input {
                embedding: emb_i.filter(|_| clf.dense.is_some()),
                text,
            })?;
            if let (Some(ex), Some(q)) = (&a.exemplars, emb_i) {
                let q = &q[..signoff_intake::embed::DIM.min(q.len())];
                let _ = signoff_intake::explain::nearest_exemplars(q, ex, &clf.labels, 3);
            }
            n += !v.label.is_empty() as usize;
        }
        Ok((n, encoder_s))
    };
    let t = Instant::now();
    let (done, batch_encoder_s) = classify_all(&texts)?;
    let batch_s = t.elapsed().as_secs_f64();
    let per_case_ms = |s: f64| s * 1000.0 / done.max(1) as f64;
    let (encoder_ms, heads_ms) = (
        per_case_ms(batch_encoder_s),
        per_case_ms(batch_s - batch_encoder_s),
    );
    let per_s = done as f64 / batch_s.max(1e-9);
    let mut single: Vec<f64> = Vec::new();
    for text in texts.iter().take(50) {
        let t = Instant::now();
        classify_all(&[text])?;
        single.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    single.sort_by(f64::total_cmp);
    let p50 = single.get(single.len() / 2).copied().unwrap_or(0.0);
    let peak = peak_mib();
    out.line(&format!(
        "intake bench: {} on {} rows ({} labels), heads {}",
        data.display(),
        rows,
        report.labels,
        report.heads
    ));
    out.line(&format!(
        "  training          {:>9.1} s  (embedding {:.1} s + heads {:.1} s)",
        report.embed_s + report.train_s,
        report.embed_s,
        report.train_s
    ));
    out.line(&format!(
        "  model load        {:>9.3} s  (encoder {encoder_load_s:.3} s + artefact {decode_s:.3} s, {} bytes)",
        encoder_load_s + decode_s,
        bytes.len()
    ));
    out.line(&format!(
        "  throughput        {per_s:>9.1} cases/s  (batch of {done}: encoder {encoder_ms:.2} ms + heads and nearest examples {heads_ms:.2} ms per case)"
    ));
    out.line(&format!("  one case (p50)    {p50:>9.1} ms"));
    if let Some(m) = peak {
        out.line(&format!("  peak memory       {m:>9.1} MiB (VmHWM)"));
    }
    out.json(&serde_json::json!({
        "rows": rows,
        "labels": report.labels,
        "heads": report.heads,
        "train_s": report.embed_s + report.train_s,
        "train_embed_s": report.embed_s,
        "train_heads_s": report.train_s,
        "model_load_s": encoder_load_s + decode_s,
        "encoder_load_s": encoder_load_s,
        "artefact_decode_s": decode_s,
        "artefact_bytes": bytes.len(),
        "cases": done,
        "cases_per_s": per_s,
        "encoder_ms_per_case": encoder_ms,
        "heads_ms_per_case": heads_ms,
        "one_case_p50_ms": p50,
        "peak_mib": peak,
    }));
    Ok(())
}
