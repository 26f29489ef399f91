package waku

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// TestRLNEpochState: the epoch counter refuses a second epoch use, survives a reload
// (a restart), and frees the quota at ResetAt.
func TestRLNEpochState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "rln-epoch")
	e, err := loadRLNEpochs(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(2_000_000_000, 400_000_000)
	if q := e.quota(now); q.Remaining != 1 || q.Limit != 1 || q.Epoch != 2_000_000_000 || !q.ResetAt.Equal(time.Unix(2_000_000_001, 0)) {
		t.Fatalf("fresh quota %+v", q)
	}
	if _, err := e.take(now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.take(now.Add(500 * time.Millisecond)); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("second take in the epoch: %v", err)
	}
	e2, err := loadRLNEpochs(path)
	if err != nil {
		t.Fatal(err)
	}
	if q := e2.quota(now); q.Remaining != 0 {
		t.Fatalf("quota after reload %+v", q)
	}
	if _, err := e2.take(now); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("take after reload in the same epoch: %v", err)
	}
	// A clock that went back does not reopen used epochs.
	if q := e2.quota(now.Add(-3 * time.Second)); q.Remaining != 0 || !q.ResetAt.Equal(time.Unix(2_000_000_001, 0)) {
		t.Fatalf("quota with the clock back %+v", q)
	}
	next := time.Unix(2_000_000_001, 0)
	if q := e2.quota(next); q.Remaining != 1 {
		t.Fatalf("quota at ResetAt %+v", q)
	}
	if _, err := e2.take(next); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadRLNEpochs(path); err == nil {
		t.Fatal("corrupt state accepted")
	}
}

func TestRLNFiles(t *testing.T) {
	c := RLNCredential{IDTrapdoor: [32]byte{1}, IDNullifier: [32]byte{2}, IDSecretHash: [32]byte{3}, IDCommitment: RLNCommitment{4}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back RLNCredential
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Fatalf("credential round trip: %v %+v", err, back)
	}
	g := []RLNCommitment{{4}, {5}}
	gb, err := MarshalRLNGroup(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := ParseRLNGroup(gb)
	if err != nil || len(g2) != 2 || g2[1] != g[1] {
		t.Fatalf("group round trip: %v %v", err, g2)
	}
	for _, bad := range []string{`{}`, `{"commitments":["zz"]}`, `{"commitments":["0102"]}`, `[`} {
		if _, err := ParseRLNGroup([]byte(bad)); err == nil {
			t.Errorf("group %s accepted", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"id_trapdoor":"01"}`), &back); err == nil {
		t.Error("short credential accepted")
	}
	cfg := RLNConfig{Credential: c, Group: []RLNCommitment{{9}}, TreePath: "t", StatePath: "s"}
	if err := cfg.check(); err == nil {
		t.Error("credential outside the group accepted")
	}
	cfg.Group = g
	if err := cfg.check(); err != nil || cfg.index() != 0 {
		t.Errorf("check: %v, index %d", err, cfg.index())
	}
	if time.Since(cfg.clock()) > time.Minute {
		t.Error("default clock is not the wall clock")
	}
	cfg.now = func() time.Time { return time.Unix(5, 0) }
	if !cfg.clock().Equal(time.Unix(5, 0)) {
		t.Error("clock override ignored")
	}
}

func FuzzParseRLNGroup(f *testing.F) {
	f.Add([]byte(`{"commitments":["0400000000000000000000000000000000000000000000000000000000000000"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseRLNGroup(b)
		if err == nil && len(g) == 0 {
			t.Fatal("empty group accepted")
		}
		var c RLNCredential
		_ = json.Unmarshal(b, &c)
	})
}
