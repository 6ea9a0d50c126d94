// Independent check of masque-tlog output with Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog (Debian golang-golang-x-mod-dev). Run by crates/tlog/tests/interop_go.rs:
//
//	go run verify.go <log dir> <log vkey> <old checkpoint file> <proofs file> <witness vkey> <skey>
//
// It opens the checkpoint with note.Open, recomputes the root from the C2SP tiles with
// tlog.TileHashReader, checks every inclusion and consistency proof listed in the proofs
// file with tlog.CheckRecord / tlog.CheckTree (and compares them with Go's own
// ProveRecord / ProveTree), verifies the witness cosignature/v1 with crypto/ed25519 over
// a message it builds itself, and finally signs a note with the skey and prints it, for
// the Rust side to verify. Any failure exits non-zero.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// c2spTiles reads sumdb tiles ("tile/8/L/N") from a C2SP layout ("tile/L/N").
type c2spTiles struct{ dir string }

func (r c2spTiles) Height() int { return 8 }
func (r c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		data, err := os.ReadFile(filepath.Join(r.dir, p))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}
func (r c2spTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func parseCheckpoint(text string) (string, int64, tlog.Hash) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("root: %v", err)
	}
	return lines[0], n, h
}

func hashes(list string) []tlog.Hash {
	var out []tlog.Hash
	if list == "-" {
		return out
	}
	for _, s := range strings.Split(list, ",") {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("proof hash: %v", err)
		}
		out = append(out, h)
	}
	return out
}

func main() {
	if len(os.Args) != 7 {
		fail("usage: verify <dir> <vkey> <old checkpoint> <proofs> <witness vkey> <skey>")
	}
	dir, vkey, oldPath, proofsPath, witnessVkey, skey := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open checkpoint: %v", err)
	}
	_, size, root := parseCheckpoint(n.Text)
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, c2spTiles{dir})
	got, err := tlog.TreeHash(size, hr)
	if err != nil || got != root {
		fail("TreeHash from tiles: %v %v != %v", err, got, root)
	}
	fmt.Printf("OK checkpoint signature and root of size %d\n", size)

	oldMsg, err := os.ReadFile(oldPath)
	if err != nil {
		fail("%v", err)
	}
	oldNote, err := note.Open(oldMsg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open old checkpoint: %v", err)
	}
	_, oldSize, oldRoot := parseCheckpoint(oldNote.Text)

	proofs, err := os.ReadFile(proofsPath)
	if err != nil {
		fail("%v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(proofs)), "\n") {
		f := strings.Fields(line)
		switch f[0] {
		case "inclusion": // inclusion <index> <leaf hash> <proof>
			idx, _ := strconv.ParseInt(f[1], 10, 64)
			leaf, _ := tlog.ParseHash(f[2])
			p := tlog.RecordProof(hashes(f[3]))
			if err := tlog.CheckRecord(p, size, root, idx, leaf); err != nil {
				fail("CheckRecord %d: %v", idx, err)
			}
			mine, err := tlog.ProveRecord(size, idx, hr)
			if err != nil || len(mine) != len(p) {
				fail("ProveRecord %d: %v", idx, err)
			}
			for i := range mine {
				if mine[i] != p[i] {
					fail("ProveRecord %d differs at %d", idx, i)
				}
			}
		case "consistency": // consistency <proof> (from the old checkpoint)
			p := tlog.TreeProof(hashes(f[1]))
			if err := tlog.CheckTree(p, size, root, oldSize, oldRoot); err != nil {
				fail("CheckTree %d -> %d: %v", oldSize, size, err)
			}
		default:
			fail("unknown proof line %q", f[0])
		}
		checked++
	}
	fmt.Printf("OK %d proofs checked with sumdb/tlog\n", checked)

	// cosignature/v1, built independently: key ID = SHA-256(name || "\n" || 0x04 || key)[:4].
	parts := strings.SplitN(witnessVkey, "+", 3)
	keyData, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(keyData) != 33 || keyData[0] != 0x04 {
		fail("witness vkey")
	}
	pub := ed25519.PublicKey(keyData[1:])
	id := sha256.Sum256(append([]byte(parts[0]+"\n\x04"), pub...))
	found := false
	for _, line := range strings.Split(string(msg[len(n.Text)+1:]), "\n") {
		prefix := "\u2014 " + parts[0] + " "
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line[len(prefix):])
		if err != nil || len(raw) != 4+8+64 || !bytes.Equal(raw[:4], id[:4]) {
			continue
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		signed := []byte(fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, n.Text))
		if !ed25519.Verify(pub, signed, raw[12:]) {
			fail("cosignature does not verify")
		}
		found = true
	}
	if !found {
		fail("no cosignature by %s", parts[0])
	}
	fmt.Printf("OK witness cosignature/v1 verified with crypto/ed25519\n")

	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("skey: %v", err)
	}
	signed, err := note.Sign(&note.Note{Text: "signed by Go\n"}, signer)
	if err != nil {
		fail("sign: %v", err)
	}
	fmt.Printf("SIGNED %s\n", base64.StdEncoding.EncodeToString(signed))
}
