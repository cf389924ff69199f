//! Trains and scores the support model without the CLI (for quick iteration on features):
//! `cargo run -p signoff-action --example citations -- TRAIN TEST [MODEL_OUT [DUMP]]`.

use signoff_action::embed::{embed::model_dir, Embedder, EmbeddingCache, Pooling};
use signoff_action::eval::{dump_rows, embed_rows, evaluate, load_pairs, train};
use signoff_action::support::Gazetteer;
use std::path::Path;

fn main() -> signoff_action::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tr = load_pairs(Path::new(&args[0]))?;
    let te = load_pairs(Path::new(&args[1]))?;
    let all: Vec<_> = tr.iter().chain(&te).collect();
    // Each file knows only the names its own passages declare, as `signoff eval citations` does.
    let gaz_tr = Gazetteer::from_passages(tr.iter().map(|r| r.passage.as_str()));
    let gaz = Gazetteer::from_passages(te.iter().map(|r| r.passage.as_str()));
    let e = Embedder::load(&model_dir(
        std::env::var("SIGNOFF_MODEL_DIR").ok().as_deref(),
    ))?;
    let home = std::env::var("HOME").unwrap_or_default();
    let mut cache = EmbeddingCache::open(
        &Path::new(&home).join(".cache/signoff/embeddings"),
        e.version(),
        Pooling::Mean,
    )?;
    let vecs = embed_rows(&e, &mut cache, &all)?;
    let m = train(&tr, &gaz_tr, Some(&vecs))?;
    for (name, v) in [("embedding", Some(&vecs)), ("lexical", None)] {
        let r = evaluate(&m, &te, &gaz, v);
        println!("{name}: {}", serde_json::to_string(&r).unwrap());
    }
    if let Some(p) = args.get(2) {
        std::fs::write(p, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
    }
    if let Some(p) = args.get(3) {
        std::fs::write(p, dump_rows(&m, &te, &gaz, Some(&vecs))).unwrap();
    }
    Ok(())
}
