//! Interoperability with Go's reference implementation (golang.org/x/mod/sumdb/note and tlog,
//! from Debian's golang-golang-x-mod-dev): a Signoff checkpoint opens with Go's note.Open, Go's
//! tlog reads the same tree size and root, and Go's tlog.CheckRecord accepts our inclusion proof.

use base64::Engine;
use signoff_audit::merkle::{self, MemoryTree};
use signoff_audit::note::{Ed25519Key, NoteSigner};
use signoff_audit::Checkpoint;
use std::process::Command;

const GOPATH_X_MOD: &str = "/usr/share/gocode";

const PROGRAM: &str = r#"package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	msg, _ := os.ReadFile(os.Args[1])
	vkey, _ := os.ReadFile(os.Args[2])
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fmt.Println("verifier error:", err)
		os.Exit(1)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(1)
	}
	lines := strings.SplitN(n.Text, "\n", 2)
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[1]))
	if err != nil {
		fmt.Println("tree error:", err)
		os.Exit(1)
	}
	leaf, _ := base64.StdEncoding.DecodeString(os.Args[3])
	index, _ := strconv.ParseInt(os.Args[4], 10, 64)
	var proof tlog.RecordProof
	for _, p := range strings.Split(os.Args[5], ",") {
		h, err := tlog.ParseHash(p)
		if err != nil {
			fmt.Println("hash error:", err)
			os.Exit(1)
		}
		proof = append(proof, h)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(leaf)); err != nil {
		fmt.Println("proof error:", err)
		os.Exit(1)
	}
	fmt.Printf("ok %s %d %s\n", n.Sigs[0].Name, tree.N, tree.Hash)
}
"#;

#[test]
fn go_sumdb_note_and_tlog_accept_our_checkpoint_and_proof() {
    let go = Command::new("go").arg("version").output();
    assert!(
        go.map(|o| o.status.success()).unwrap_or(false) && std::path::Path::new(GOPATH_X_MOD).join("src/golang.org/x/mod/sumdb/note").exists(),
        "Go and golang.org/x/mod are required (scripts/setup.sh installs golang-go and golang-golang-x-mod-dev)"
    );
    let t = tempfile::tempdir().unwrap();
    let mut tree = MemoryTree::default();
    let leaves: Vec<Vec<u8>> = (0..37)
        .map(|i| format!("{{\"seq\":{i}}}").into_bytes())
        .collect();
    for l in &leaves {
        tree.push(l);
    }
    let n = leaves.len() as u64;
    let root = merkle::root(&tree, n).unwrap();
    let key = Ed25519Key::from_seed([21; 32]);
    let origin = "signoff.local/go-interop";
    let signer = NoteSigner::new(origin, &key).unwrap();
    let cp = Checkpoint {
        origin: origin.into(),
        size: n,
        root,
        extensions: vec![],
    };
    std::fs::write(t.path().join("cp.txt"), signer.sign(&cp.to_text()).unwrap()).unwrap();
    std::fs::write(t.path().join("vkey.txt"), signer.verifier_key()).unwrap();
    let index = 29u64;
    let b64 = base64::engine::general_purpose::STANDARD;
    let proof: Vec<String> = merkle::inclusion_proof(&tree, index, n)
        .unwrap()
        .iter()
        .map(|h| b64.encode(h))
        .collect();

    let src = t.path().join("gopath/src/signoffcheck");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("main.go"), PROGRAM).unwrap();
    let out = Command::new("go")
        .args(["run", "signoffcheck"])
        .arg(t.path().join("cp.txt"))
        .arg(t.path().join("vkey.txt"))
        .arg(b64.encode(&leaves[index as usize]))
        .arg(index.to_string())
        .arg(proof.join(","))
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("{GOPATH_X_MOD}:{}", t.path().join("gopath").display()),
        )
        .env("GOCACHE", t.path().join("gocache"))
        .env_remove("GOFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("ok {origin} {n} {}", b64.encode(root))
    );
}
