//! `signoff bench reword`: what the optional SmolLM2-135M rewording costs on this machine —
//! model load (with the one-time Q4_1 → Q8_0 conversion when it has not run yet), the prompt's
//! prefill with and without the cached instruction, and greedy decoding speed. Threads follow
//! `CANDLE_NUM_THREADS` (one by default); run it once with each value to pick one.

use crate::output::Out;
use anyhow::{Context, Result};
use signoff_action::remote::Cancel;
use signoff_action::reword;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs the benchmark on the model in `dir` (`<SIGNOFF_MODEL_DIR>/smollm2-135m`), decoding
/// `tokens` tokens for the speed figure.
pub fn reword_bench(dir: &Path, tokens: usize, out: &Out) -> Result<()> {
    let t = Instant::now();
    let model = reword::shared(dir).with_context(|| {
        format!(
            "loading SmolLM2 from {} (run scripts/setup.sh)",
            dir.display()
        )
    })?;
    let load = t.elapsed();
    let mut m = model
        .lock()
        .map_err(|_| anyhow::anyhow!("the model's lock was poisoned"))?;
    let prompt = reword::reword_prompt("Acorn Guest House: Parking is free on site");
    let prompt_tokens = m.encode(&prompt)?.len();
    let far = Instant::now() + Duration::from_secs(600);
    let cancel = Cancel::new();
    // Warm up once, then time the prefill alone (one token out).
    m.generate(&prompt, 1, far, &cancel)?;
    let t = Instant::now();
    m.generate(&prompt, 1, far, &cancel)?;
    let prefill = t.elapsed();
    m.cache_prefix(&reword::reword_prefix())?;
    let t = Instant::now();
    m.generate(&prompt, 1, far, &cancel)?;
    let cached = t.elapsed();
    let long = "<|im_start|>user\nWrite a long story about a guest house.<|im_end|>\n<|im_start|>assistant\n";
    let t = Instant::now();
    let g = m.generate(long, tokens, far, &cancel)?;
    let took = t.elapsed();
    let threads = std::env::var("CANDLE_NUM_THREADS").unwrap_or_else(|_| "1 (default)".into());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rate = g.tokens as f64 / took.as_secs_f64().max(1e-9);
    out.line(&format!(
        "reword bench: SmolLM2-135M (Q8_0) from {}, threads {threads}",
        dir.display()
    ));
    let row = |name: String, value: String| out.line(&format!("  {name:<26}{value}"));
    row("model load".into(), format!("{:>8.0} ms", ms(load)));
    row(
        format!("prefill ({prompt_tokens} tokens)"),
        format!("{:>8.0} ms", ms(prefill)),
    );
    row(
        "prefill, cached instruction".into(),
        format!("{:>8.0} ms", ms(cached)),
    );
    row(
        "decoding".into(),
        format!(
            "{rate:>8.1} tokens/s ({} tokens in {:.0} ms)",
            g.tokens,
            ms(took)
        ),
    );
    out.json(&serde_json::json!({
        "threads": threads,
        "load_ms": ms(load),
        "prompt_tokens": prompt_tokens,
        "prefill_ms": ms(prefill),
        "prefill_cached_ms": ms(cached),
        "decode_tokens": g.tokens,
        "decode_ms": ms(took),
        "tokens_per_s": rate,
    }));
    Ok(())
}
