//! `signoff`: every core operation of Signoff, headless. The desktop app's twin for scripts,
//! servers and terminals. Errors become a message naming the cause and a non-zero exit.

mod actions_cmd;
mod bench;
mod bench_audit;
mod bench_audit_view;
mod bench_encrypted;
mod bench_hub;
mod bench_intake;
mod bench_reword;
mod bench_search;
mod corpus_cmd;
mod draft_cmd;
mod eval_citations;
mod eval_drafts;
mod eval_intake;
mod eval_retrieval;
mod hub_cmd;
mod intake_cmd;
mod model_cmd;
mod output;
mod sync_cmd;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use output::Out;
use signoff_core::{Band, CaseStatus, Clock, DispositionKind, QueueFilter, Reviewer, SystemClock};
use signoff_store::{Access, Decision, ImportProgress, Workspace};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Signoff: a reviewer's workstation for AI-assisted case work.
#[derive(Parser)]
#[command(name = "signoff", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Clone)]
struct Global {
    /// Workspace directory (default: the demo workspace in the user's data dir).
    #[arg(long, global = true, env = "SIGNOFF_WORKSPACE")]
    workspace: Option<PathBuf>,
    /// Reviewer id for dispositions.
    #[arg(long, global = true, env = "SIGNOFF_REVIEWER")]
    reviewer: Option<String>,
    /// Device key file, for machines without an OS key store (created 0600 if missing).
    #[arg(long, global = true, env = "SIGNOFF_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Print machine-readable JSON (the last line of output).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Create a workspace (and register the reviewer); `--demo` fills it with the demo cases.
    Init {
        /// Import the demo cases.
        #[arg(long)]
        demo: bool,
        /// The reviewer's printed name (needs `--reviewer ID`).
        #[arg(long)]
        reviewer_name: Option<String>,
        /// Create the workspace encrypted (SQLCipher); its key goes to the OS key store, or
        /// beside `--key-file` as `<key file>.db`.
        #[arg(long)]
        encrypt: bool,
    },
    /// Import case files (JSONL or CSV), each all-or-nothing.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Pull a case file (JSONL or CSV) from a hub or any HTTP(S) URL and import it, all-or-nothing.
    Pull {
        /// The URL of the case file.
        url: String,
    },
    /// Team hub: serve one, create its first admin, enrol with one, approve devices, post cases.
    #[command(subcommand)]
    Hub(hub_cmd::HubCommand),
    /// Lease cases from the team hub into this workspace's queue.
    Sync(sync_cmd::SyncArgs),
    /// List cases in queue order.
    Queue {
        /// Status to list (default: open).
        #[arg(long)]
        status: Option<String>,
        /// Only this band (high, medium, low).
        #[arg(long)]
        band: Option<String>,
        /// Only this label.
        #[arg(long)]
        label: Option<String>,
        /// Full-text filter over subject and body.
        #[arg(long)]
        text: Option<String>,
        /// How many cases to list.
        #[arg(long, default_value_t = 30)]
        limit: u32,
    },
    /// Show one case with its dispositions.
    Show {
        /// Case id.
        case: String,
    },
    /// Record a disposition (the headless twin of the app's decision bar).
    Decide {
        /// Case id.
        case: String,
        /// approve, reject, escalate or edit.
        #[arg(long)]
        disposition: String,
        /// Reason code (required except for approve; see `signoff reasons`).
        #[arg(long)]
        reason: Option<String>,
        /// Free-text rationale.
        #[arg(long)]
        rationale: Option<String>,
        /// File with the final text (required for edit).
        #[arg(long)]
        final_text: Option<PathBuf>,
    },
    /// Erase a case's text, drafts and rationales for good (signed by you; the log still
    /// verifies, and history shows the erasure with its reason).
    Erase {
        /// Case id.
        #[arg(long)]
        case: String,
        /// Why (kept in the audit log: do not put personal data here).
        #[arg(long)]
        reason: String,
    },
    /// Undo your latest disposition of a case, within the grace period.
    Undo {
        /// Case id.
        case: String,
    },
    /// Case counts per status.
    Counts,
    /// List reason codes, or add one.
    Reasons {
        /// Add (or relabel) this code.
        #[arg(long, requires = "label")]
        add: Option<String>,
        /// Label for `--add`.
        #[arg(long)]
        label: Option<String>,
    },
    /// The signed, tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Benchmarks that print a table (and `--json`).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Evaluations on labelled data (`eval intake`, `eval retrieval`).
    #[command(subcommand)]
    Eval(EvalGroup),
    /// The intake classifier: train a model artefact, classify a text.
    #[command(subcommand)]
    Intake(intake_cmd::IntakeCommand),
    /// The curated context corpus: add files, approve versions, list, diff, allow-list.
    #[command(subcommand)]
    Corpus(corpus_cmd::CorpusCommand),
    /// Search the newest approved corpus version (read-only).
    Search(corpus_cmd::SearchArgs),
    /// Retrieve evidence for a case from the approved corpus (recorded in the audit log).
    Evidence(corpus_cmd::EvidenceArgs),
    /// Draft a reply for a case from retrieved evidence, every claim cited and checked.
    Draft(draft_cmd::DraftArgs),
    /// Resolve a flagged claim of a case's draft: accept with a reason, edit or remove it.
    Claim(draft_cmd::ClaimArgs),
    /// Where approved replies are posted (the workspace setting `upstream_url`).
    #[command(subcommand)]
    Upstream(actions_cmd::UpstreamCommand),
    /// Outbound actions: list, send (or retry), compensate.
    #[command(subcommand)]
    Actions(actions_cmd::ActionsCommand),
    /// Drafting models: list models and routes (models.toml), set a remote model's API key.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every leaf, node, checkpoint and signature; non-zero exit at the first bad place.
    Verify {
        /// A checkpoint note saved earlier: a truncated or rewritten log fails against it.
        #[arg(long)]
        pinned: Option<PathBuf>,
        /// The team hub's witness key (`signoff hub key`): every kept cosigned checkpoint must
        /// carry a valid cosignature by it.
        #[arg(long)]
        witness: Option<String>,
    },
    /// How a case was handled (optionally on one UTC day), with inclusion proofs.
    History {
        /// Case id.
        #[arg(long)]
        case: String,
        /// Only this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        on: Option<String>,
    },
    /// Print the latest signed checkpoint (C2SP signed note); `--new` signs one now.
    Checkpoint {
        /// Sign a fresh checkpoint first.
        #[arg(long)]
        new: bool,
    },
    /// Print the verifier key (`name+keyid+base64`) that signs new checkpoints; `--genesis`
    /// prints the log's first key (what auditors pin).
    Key {
        /// The log's first key instead of the one in force.
        #[arg(long)]
        genesis: bool,
    },
    /// Hand the log to a new device key: a rotation entry signed by the current key.
    RotateKey,
    /// Write the whole sealed log (entries, checkpoints, consistency proofs, public keys) to a
    /// bundle file that verifies without the workspace.
    Export {
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an exported bundle; needs no workspace.
    VerifyBundle {
        /// The bundle file.
        bundle: PathBuf,
        /// The trusted verifier key (`name+keyid+base64`), e.g. from `signoff audit key --genesis`.
        #[arg(long)]
        vkey: String,
    },
    /// List the workspace columns `audit verify` does not check, each with the reason it
    /// carries no audit meaning (`--json`: `[{"table","column","reason"}]`).
    UnverifiedColumns,
    /// Append N test events, one durable transaction each, printing `ack INDEX` after each
    /// commit (used by the crash tests).
    #[command(hide = true)]
    Stress {
        /// How many events.
        #[arg(long, default_value_t = 10_000)]
        appends: u64,
    },
}

/// The `eval` group: intake's evaluations plus context retrieval's.
#[derive(Subcommand)]
enum EvalGroup {
    #[command(flatten)]
    Intake(eval_intake::EvalCommand),
    /// Score context retrieval on a BEIR set (nDCG@10, Recall@5/@100, MRR@10, latency).
    Retrieval(eval_retrieval::RetrievalArgs),
    /// Score the claim support scorer on claim/passage pairs (precision, recall, F1, AUROC).
    Citations(eval_citations::CitationsArgs),
    /// Draft every judged query of a BEIR set offline and check its claims (citation
    /// precision, claims supported, drafts without grounding, p50/p95 draft time).
    Drafts(eval_drafts::DraftsArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Queue operations on N synthetic cases in a temporary workspace.
    Queue {
        /// Number of synthetic cases.
        #[arg(long, default_value_t = 100_000)]
        cases: u64,
        /// Keep the benchmark workspace in a new directory under this one.
        #[arg(long, hide = true)]
        keep: Option<PathBuf>,
        /// Also run on an encrypted workspace and print both with their ratios.
        #[arg(long)]
        encrypted: bool,
    },
    /// Audit log costs against bare SQLite inserts and raw SHA-256, and history latency.
    Audit {
        /// Size of the log for verify and history.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Also run on encrypted files and print both with their ratios.
        #[arg(long)]
        encrypted: bool,
    },
    /// A team hub on `--db` (served in this process): push a log, lease cases, 50 concurrent
    /// workstations.
    Hub {
        /// `postgres://USER@HOST:PORT/DB` or `sqlite:PATH`.
        #[arg(long)]
        db: String,
        /// Entries in the pushed log.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Cases leased (by ten devices).
        #[arg(long, default_value_t = 10_000)]
        cases: u64,
    },
    /// The audit view at scale: every filter's first and next page (with its query plan), an
    /// entry's proof, the CSV export and the actor list.
    AuditView {
        /// Size of the log.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
    },
    /// Intake: training time, model load time, classification throughput and latency, memory.
    Intake {
        /// Labelled rows (`{"text","label"}` JSONL).
        #[arg(long, default_value = "../shared/data/clinc150/train.jsonl")]
        data: PathBuf,
        /// Train on this many rows (the first ones).
        #[arg(long, default_value_t = 15_000)]
        rows: usize,
        /// Classify this many of them for the throughput figure.
        #[arg(long, default_value_t = 2_000)]
        cases: usize,
        /// Model configuration (see `signoff eval intake --model`).
        #[arg(long, default_value = "ensemble")]
        model: String,
    },
    /// The optional SmolLM2 rewording: load, prefill and decoding speed on this machine.
    Reword {
        /// Tokens to decode for the speed figure.
        #[arg(long, default_value_t = 64)]
        tokens: usize,
    },
    /// Context retrieval at scale: indexing rate, hybrid and reranked query latency, memory.
    Search {
        /// Number of passages (synthesised from the BEIR corpus beyond its size).
        #[arg(long, default_value_t = 100_000)]
        passages: usize,
        /// BEIR directory the passages and queries come from.
        #[arg(long, default_value = "../shared/data/dstc11-beir")]
        beir: PathBuf,
    },
}

fn main() {
    // Before any thread starts: the environment is not safe to change once one has.
    signoff_api::prefer_one_decode_thread();
    let cli = Cli::parse();
    let out = Out {
        json: cli.global.json,
    };
    if let Err(e) = run(cli, &out) {
        eprintln!("signoff: {e:#}");
        std::process::exit(1);
    }
}

fn workspace_dir(g: &Global) -> (PathBuf, bool) {
    let xdg = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let c = signoff_api::resolve_workspace(g.workspace.as_deref(), xdg.as_deref(), home.as_deref());
    (c.dir, c.is_demo)
}

fn open_write(g: &Global, clock: &dyn Clock) -> Result<Workspace> {
    let (dir, is_demo) = workspace_dir(g);
    Ok(signoff_api::demo::open(
        &dir,
        is_demo,
        g.key_file.as_deref(),
        clock,
    )?)
}

/// Where this invocation's keys live.
fn key_place(g: &Global) -> signoff_api::keys::KeyPlace {
    let (dir, is_demo) = workspace_dir(g);
    signoff_api::keys::KeyPlace::new(g.key_file.as_deref(), &dir, is_demo)
}

/// Opens the workspace for writing with the reviewer's own signing key loaded.
fn open_as_reviewer<'g>(g: &'g Global, clock: &dyn Clock) -> Result<(Workspace, &'g str)> {
    let id = reviewer_id(g)?;
    let mut ws = open_write(g, clock)?;
    if ws.reviewer(id)?.is_none() {
        anyhow::bail!(
            "reviewer {id:?} is not registered in this workspace (run `signoff init --reviewer {id} --reviewer-name NAME`)"
        );
    }
    signoff_api::keys::attach_reviewer_key(&mut ws, &key_place(g), id, clock)?;
    Ok((ws, id))
}

fn open_read(g: &Global, clock: &dyn Clock) -> Result<Workspace> {
    let (dir, is_demo) = workspace_dir(g);
    if is_demo && !dir.join(signoff_store::DB_FILE).exists() {
        drop(open_write(g, clock)?);
    }
    Ok(signoff_api::workspace::open(
        &dir,
        Access::Read,
        &key_place(g),
    )?)
}

fn reviewer_id(g: &Global) -> Result<&str> {
    g.reviewer
        .as_deref()
        .context("no reviewer: pass --reviewer ID or set SIGNOFF_REVIEWER")
}

fn run(cli: Cli, out: &Out) -> Result<()> {
    let clock = SystemClock;
    let g = &cli.global;
    match cli.command {
        Command::Init {
            demo,
            reviewer_name,
            encrypt,
        } => {
            let (dir, default_demo) = workspace_dir(g);
            let demo = demo || default_demo;
            let encryption = if encrypt {
                signoff_api::workspace::Encryption::Encrypted
            } else {
                signoff_api::workspace::Encryption::Plain
            };
            let mut ws = signoff_api::demo::open_with(
                &dir,
                demo,
                g.key_file.as_deref(),
                &clock,
                encryption,
            )?;
            if let Some(name) = reviewer_name {
                let id = reviewer_id(g)?;
                ws.upsert_reviewer(
                    &Reviewer {
                        id: id.into(),
                        name,
                    },
                    &clock,
                )?;
                signoff_api::keys::attach_reviewer_key(&mut ws, &key_place(g), id, &clock)?;
            }
            let counts = ws.status_counts()?;
            let place = signoff_api::keys::KeyPlace::new(g.key_file.as_deref(), &dir, demo);
            let key = signoff_api::workspace::key_location(&dir, &place)?;
            match &key {
                Some(k) => out.line(&format!(
                    "workspace ready at {} (encrypted; its database key is in the {k})",
                    dir.display()
                )),
                None => out.line(&format!("workspace ready at {}", dir.display())),
            }
            out.json(&serde_json::json!({
                "workspace": dir,
                "open": counts.counts[0].1,
                "encrypted": key.is_some(),
                "db_key": key,
            }));
        }
        Command::Import { files } => import(g, out, &files, &clock)?,
        Command::Pull { url } => pull(g, out, &url, &clock)?,
        Command::Hub(cmd) => hub_cmd::run(g, out, cmd, &clock)?,
        Command::Sync(args) => sync_cmd::run(g, out, args, &clock)?,
        Command::Queue {
            status,
            band,
            label,
            text,
            limit,
        } => {
            let ws = open_read(g, &clock)?;
            let filter = QueueFilter {
                status: status.map(|s| CaseStatus::parse(&s)).transpose()?,
                band: band.map(|b| Band::parse(&b)).transpose()?,
                label,
                text,
            };
            let page = ws.queue_page(&filter, None, limit)?;
            for c in &page {
                let sla = c
                    .sla_due_ms
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into());
                out.line(&format!(
                    "{:<14} {:<16} p{} {:<9} {}",
                    c.id,
                    sla,
                    c.priority,
                    c.status.as_str(),
                    output::clip(&c.subject, 60)
                ));
            }
            out.json(&page);
        }
        Command::Show { case } => {
            let ws = open_read(g, &clock)?;
            let c = ws.case(ws.case_seq(&case)?)?;
            let history = ws.dispositions_of(c.seq)?;
            let erased = ws.erasure(c.seq)?;
            out.line(&format!(
                "{} [{}] {}\n\n{}\n",
                c.id,
                c.status.as_str(),
                c.subject,
                c.body
            ));
            if let Some(e) = &erased {
                out.line(&format!(
                    "erased on {} by {} for reason: {} (audit entry {})",
                    e.at.to_rfc3339(),
                    e.by,
                    e.reason,
                    e.audit_idx
                ));
            }
            for d in &history {
                out.line(&format!(
                    "{} {} by {} ({}) {}",
                    d.at.to_rfc3339(),
                    d.kind,
                    d.reviewer_name,
                    d.reviewer_id,
                    d.reason_code.as_deref().unwrap_or("")
                ));
            }
            out.json(&serde_json::json!({"case": c, "dispositions": history, "erased": erased}));
        }
        Command::Erase { case, reason } => {
            let (mut ws, id) = open_as_reviewer(g, &clock)?;
            let e = ws.erase_case(&case, id, &reason, &clock)?;
            out.line(&format!(
                "{}: erased by {} (audit entry {}): its text, drafts and rationales are gone; the log still verifies",
                e.case_id, e.by, e.audit_idx
            ));
            out.json(&e);
        }
        Command::Decide {
            case,
            disposition,
            reason,
            rationale,
            final_text,
        } => {
            let (mut ws, id) = open_as_reviewer(g, &clock)?;
            let final_text = final_text
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?;
            let decision = Decision {
                case_seq: ws.case_seq(&case)?,
                kind: DispositionKind::parse(&disposition)?,
                reason_code: reason,
                rationale,
                final_text,
                recheck: None,
            };
            // Approve and edit re-check the reply that goes out (MiniLM when installed).
            let embedder =
                signoff_api::intake::embedder(&signoff_api::intake::model_dir_from_env()).ok();
            let d = signoff_api::review::decide(&mut ws, id, &decision, embedder, &clock)?;
            out.line(&format!(
                "{case}: {} by {} (disposition #{})",
                d.kind, d.reviewer_name, d.seq
            ));
            let text = d.final_text.as_deref().unwrap_or_default();
            if signoff_store::review::sends_draft(decision.kind)
                && !signoff_store::review::posts_reply(decision.kind, text)
            {
                out.line(&format!(
                    "{case}: the reply is empty, so nothing is posted upstream"
                ));
            }
            actions_cmd::send_after(&mut ws, decision.case_seq, out, &clock)?;
            out.json(&d);
        }
        Command::Undo { case } => {
            let (mut ws, id) = open_as_reviewer(g, &clock)?;
            let seq = ws.case_seq(&case)?;
            let last = ws
                .dispositions_of(seq)?
                .into_iter()
                .next_back()
                .with_context(|| format!("case {case} has no disposition to undo"))?;
            let grace = ws.undo_grace_secs()?;
            let d = ws.undo(id, last.seq, grace, &clock)?;
            out.line(&format!(
                "{case}: {} undone; the case is open again",
                last.kind
            ));
            actions_cmd::send_after(&mut ws, seq, out, &clock)?;
            out.json(&d);
        }
        Command::Counts => {
            let ws = open_read(g, &clock)?;
            let counts = ws.status_counts()?;
            let mut map = serde_json::Map::new();
            for (s, n) in &counts.counts {
                out.line(&format!("{:<10} {n}", s.as_str()));
                map.insert(s.as_str().into(), (*n).into());
            }
            out.json(&map);
        }
        Command::Reasons { add, label } => {
            if let (Some(code), Some(label)) = (add, label) {
                open_write(g, &clock)?.put_reason_code(&code, &label)?;
            }
            let ws = open_read(g, &clock)?;
            let codes = ws.reason_codes()?;
            for r in &codes {
                out.line(&format!("{:<18} {}", r.code, r.label));
            }
            out.json(&codes);
        }
        Command::Audit(cmd) => audit(g, out, cmd, &clock)?,
        Command::Bench(BenchCommand::Queue {
            cases,
            keep,
            encrypted,
        }) => bench::queue(cases, keep.as_deref(), encrypted, out)?,
        Command::Bench(BenchCommand::Audit { entries, encrypted }) => {
            bench_audit::audit(entries, encrypted, out)?
        }
        Command::Bench(BenchCommand::Hub { db, entries, cases }) => {
            bench_hub::hub(&db, entries, cases, out)?
        }
        Command::Bench(BenchCommand::AuditView { entries }) => {
            bench_audit_view::audit_view(entries, out)?
        }
        Command::Bench(BenchCommand::Intake {
            data,
            rows,
            cases,
            model,
        }) => bench_intake::intake(&data, rows, cases, &model, out)?,
        Command::Bench(BenchCommand::Reword { tokens }) => bench_reword::reword_bench(
            &signoff_api::intake::model_dir_from_env()
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(signoff_action::reword::SMOLLM2_DIR),
            tokens,
            out,
        )?,
        Command::Bench(BenchCommand::Search { passages, beir }) => {
            bench_search::search(passages, &beir, out)?
        }
        Command::Eval(EvalGroup::Intake(cmd)) => eval_intake::run(cmd, out)?,
        Command::Eval(EvalGroup::Retrieval(a)) => eval_retrieval::run(a, out)?,
        Command::Eval(EvalGroup::Citations(a)) => eval_citations::run(a, out)?,
        Command::Eval(EvalGroup::Drafts(a)) => eval_drafts::run(a, out)?,
        Command::Intake(cmd) => intake_cmd::run(cmd, g, out, &clock)?,
        Command::Corpus(cmd) => corpus_cmd::run(g, out, cmd, &clock)?,
        Command::Search(a) => corpus_cmd::search(g, out, a, &clock)?,
        Command::Evidence(a) => corpus_cmd::evidence(g, out, a, &clock)?,
        Command::Draft(a) => draft_cmd::run(g, out, a, &clock)?,
        Command::Claim(a) => draft_cmd::claim(g, out, a, &clock)?,
        Command::Upstream(cmd) => actions_cmd::upstream(g, out, cmd, &clock)?,
        Command::Actions(cmd) => actions_cmd::run(g, out, cmd, &clock)?,
        Command::Model(cmd) => model_cmd::run(g, out, cmd)?,
    }
    Ok(())
}

fn audit(g: &Global, out: &Out, cmd: AuditCommand, clock: &dyn Clock) -> Result<()> {
    match cmd {
        AuditCommand::Verify { pinned, witness } => {
            let ws = open_read(g, clock)?;
            let pinned = pinned
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?;
            let w = ws.audit_verify(pinned.as_deref(), &mut |_, _| {})?;
            let r = &w.log;
            out.line(&format!(
                "audit log verified: {} entries, {} tree nodes, {} signed checkpoints, {} personal signatures, {} device key(s); {} workspace rows agree with it",
                r.entries, r.nodes, r.checkpoints, r.signatures, r.device_keys, w.rows
            ));
            let mut json = serde_json::json!({"ok": true, "entries": r.entries, "nodes": r.nodes, "checkpoints": r.checkpoints, "signatures": r.signatures, "device_keys": r.device_keys, "rows": w.rows});
            if let Some(vkey) = witness {
                let wr = ws
                    .verify_witness(&vkey)
                    .with_context(|| format!("--witness {vkey:?}"))?;
                let at = wr
                    .witnessed_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                out.line(&format!(
                    "witness: {} cosigned checkpoint(s) verify; the first {} entries are witnessed{}",
                    wr.cosigned,
                    wr.witnessed_size,
                    at.as_deref().map_or(String::new(), |t| format!(", time {t}"))
                ));
                json["witness"] = serde_json::json!({"cosigned": wr.cosigned, "witnessed_size": wr.witnessed_size, "witnessed_at": at});
            }
            out.json(&json);
        }
        AuditCommand::History { case, on } => {
            let ws = open_read(g, clock)?;
            let on = on
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .with_context(|| format!("--on {d:?} is not a date like 2026-11-25"))
                })
                .transpose()?;
            let h = ws.audit_history(&case, on)?;
            out.line(&format!(
                "{} — {} entries, proofs against the checkpoint of size {}",
                h.case_id,
                h.entries.len(),
                h.size
            ));
            for e in &h.entries {
                out.line(&format!(
                    "#{:<6} {} {:<12} {:<10} {}",
                    e.index, e.at, e.kind, e.actor, e.leaf
                ));
            }
            if let Some(e) = h
                .entries
                .iter()
                .find(|e| e.kind == signoff_store::erase::ERASE_KIND)
            {
                out.line(&format!(
                    "erased on {} by {} for reason: {}",
                    e.at,
                    e.actor,
                    signoff_store::erase::reason_of(e.leaf.as_bytes())
                ));
            }
            out.json(&h);
        }
        AuditCommand::Checkpoint { new } => {
            let note = if new {
                open_write(g, clock)?.audit_checkpoint(clock)?
            } else {
                open_read(g, clock)?
                    .latest_checkpoint()?
                    .context("the audit log has no checkpoint yet")?
            };
            print!("{note}");
        }
        AuditCommand::UnverifiedColumns => {
            let list = signoff_store::integrity::unverified_columns();
            for u in &list {
                out.line(&format!("{}.{}: {}", u.table, u.column, u.reason));
            }
            out.json(&list);
        }
        AuditCommand::Stress { appends } => {
            use std::io::Write;
            let mut ws = open_write(g, clock)?;
            let mut stdout = std::io::stdout().lock();
            for i in 0..appends {
                let mut payload = serde_json::Map::new();
                payload.insert("n".into(), i.into());
                let idx = ws.record_event(signoff_audit::log::Entry {
                    kind: "stress".into(),
                    case_id: None,
                    actor: "device".into(),
                    at_ms: clock.now().timestamp_millis(),
                    payload,
                })?;
                writeln!(stdout, "ack {idx}")?;
                stdout.flush()?;
            }
        }
        AuditCommand::Key { genesis } => {
            let ws = open_read(g, clock)?;
            let vkey = if genesis {
                ws.audit_vkey()?
            } else {
                ws.current_vkey()?
            };
            output::Out { json: false }
                .line(&vkey.context("this workspace has no device key yet")?);
        }
        AuditCommand::RotateKey => {
            let mut ws = open_write(g, clock)?;
            let idx = signoff_api::keys::rotate_device_key(&mut ws, &key_place(g), clock)?;
            let vkey = ws.current_vkey()?.unwrap_or_default();
            out.line(&format!(
                "device key rotated at entry {idx}; new verifier key:\n{vkey}"
            ));
            out.json(&serde_json::json!({"index": idx, "vkey": vkey}));
        }
        AuditCommand::Export { out: path } => {
            let ws = open_read(g, clock)?;
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let bar = indicatif::ProgressBar::new(0);
            if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let n = ws.audit_export(file, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
            out.line(&format!("exported {n} entries to {}", path.display()));
            out.json(&serde_json::json!({"entries": n, "bundle": path}));
        }
        AuditCommand::VerifyBundle { bundle, vkey } => {
            let trusted = signoff_audit::NoteVerifier::parse(&vkey)
                .with_context(|| format!("--vkey {vkey:?}"))?;
            let file = std::fs::File::open(&bundle)
                .with_context(|| format!("opening {}", bundle.display()))?;
            let r = signoff_audit::bundle::verify(file, &trusted, &mut |_| {})
                .with_context(|| format!("{}", bundle.display()))?;
            out.line(&format!(
                "bundle verified: log {}, {} entries, {} signed checkpoints, {} reviewer signatures, {} device key(s)",
                r.origin, r.entries, r.checkpoints, r.signatures, r.device_keys.len()
            ));
            out.json(&r);
        }
    }
    Ok(())
}

fn import(g: &Global, out: &Out, files: &[PathBuf], clock: &dyn Clock) -> Result<()> {
    let mut ws = open_write(g, clock)?;
    let mut totals = (0u64, 0u64, 0u64);
    let mut failed = 0;
    for f in files {
        let bar = progress_bar(f);
        let mut tick = |p: ImportProgress| {
            if let Some(b) = &bar {
                b.set_length(p.total);
                b.set_position(p.bytes);
            }
        };
        let result = ws.import_file(f, clock, &mut tick);
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        match result {
            Ok(r) => {
                out.line(&format!(
                    "{}: {} new, {} unchanged, {} conflicting",
                    f.display(),
                    r.new,
                    r.unchanged,
                    r.conflicts
                ));
                for (line, id) in &r.conflict_ids {
                    out.line(&format!(
                        "  {}:{line}: id {id:?} exists with different content; kept the stored case",
                        f.display()
                    ));
                }
                totals.0 += r.new;
                totals.1 += r.unchanged;
                totals.2 += r.conflicts;
            }
            Err(e) => {
                failed += 1;
                eprintln!("signoff: {e}");
            }
        }
    }
    classify_new(&mut ws, out, clock)?;
    out.json(&serde_json::json!({"new": totals.0, "unchanged": totals.1, "conflicts": totals.2}));
    if failed > 0 {
        bail!(
            "{failed} of {} file(s) were not imported (see above); the others were",
            files.len()
        );
    }
    Ok(())
}

fn pull(g: &Global, out: &Out, url: &str, clock: &dyn Clock) -> Result<()> {
    let mut ws = open_write(g, clock)?;
    let tmp = tempfile::Builder::new()
        .prefix("pull-")
        .tempdir_in(ws.dir())?;
    let name: String = url
        .rsplit('/')
        .next()
        .unwrap_or("cases")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dest = tmp.path().join(if name.is_empty() {
        "cases".into()
    } else {
        name
    });
    let pulled = signoff_sync::pull_to_file(url, &dest, &signoff_sync::PullOptions::default())?;
    let r = ws.import_pulled(&dest, url, clock, &mut |_| {})?;
    out.line(&format!(
        "{url}: {} bytes; {} new, {} unchanged, {} conflicting",
        pulled.bytes, r.new, r.unchanged, r.conflicts
    ));
    classify_new(&mut ws, out, clock)?;
    out.json(&serde_json::json!({"new": r.new, "unchanged": r.unchanged, "conflicts": r.conflicts, "bytes": pulled.bytes}));
    Ok(())
}

/// Classifies the cases an import or pull added (rules, then the model in force); says why
/// when some stay unclassified. Returns how many were classified.
fn classify_new(ws: &mut Workspace, out: &Out, clock: &dyn Clock) -> Result<usize> {
    let r = signoff_api::intake::classify(
        ws,
        &signoff_store::intake::Scope::Unclassified,
        &signoff_api::intake::model_dir_from_env(),
        clock,
    )?;
    for w in &r.warnings {
        eprintln!("signoff: {w}");
    }
    if r.considered > 0 {
        out.line(&format!(
            "classified {} case(s) in {} ms: {} by rule, {} by the model, {} escalated",
            r.classified, r.elapsed_ms, r.by_rule, r.by_model, r.escalated
        ));
    }
    if let Some(why) = &r.unclassified_reason {
        // A diagnostic, also under --json (whose stdout is the contract's JSON alone).
        eprintln!(
            "signoff: {} case(s) left unclassified: {why}",
            r.unclassified
        );
    }
    Ok(r.classified)
}

fn progress_bar(f: &Path) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    b.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .ok()?
            .progress_chars("=> "),
    );
    b.set_message(f.display().to_string());
    Some(b)
}
