package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/transport/waku"
)

// TestRLNCommands: chorus rln create writes a group and credentials (or, in a build
// without zerokit, says so); node refuses half an RLN configuration.
func TestRLNCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rln")
	code, stdout, stderr := runArgs(t, "", "rln", "create", "--members", "2", "--out", out, "--json")
	if !waku.RLNAvailable {
		if code == 0 || !strings.Contains(stderr, "gowaku_no_rln") {
			t.Fatalf("rln create without zerokit: exit %d, %q", code, stderr)
		}
	} else {
		if code != 0 {
			t.Fatalf("rln create: exit %d, %s", code, stderr)
		}
		if strings.Contains(stdout, "rln.wasm") {
			t.Fatalf("zerokit's output reached stdout: %q", stdout)
		}
		var res rlnCreated
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("rln create --json: %v: %q", err, stdout)
		}
		group, err := waku.ReadRLNGroup(res.Group)
		if err != nil || len(group) != 2 || len(res.Credentials) != 2 {
			t.Fatalf("group %v %v, %d credentials", group, err, len(res.Credentials))
		}
		for i, p := range res.Credentials {
			c, err := waku.ReadRLNCredential(p)
			if err != nil || c.IDCommitment != group[i] {
				t.Fatalf("credential %d: %v", i, err)
			}
		}
	}
	if code, _, _ := runArgs(t, "", "rln", "nope"); code != exitUsage {
		t.Errorf("rln nope: exit %d", code)
	}
	data := filepath.Join(dir, "data")
	if code, _, stderr := runArgs(t, "", "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runArgs(t, "", "node", "--data", data, "--rln-credential", "x.json"); code != exitUsage || !strings.Contains(stderr, "go together") {
		t.Errorf("node with a credential and no group: exit %d, %q", code, stderr)
	}
}
