package app

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDirEnsureAndLock(t *testing.T) {
	d := Dir(filepath.Join(t.TempDir(), "data"))
	if tightened, err := d.Ensure(); err != nil || tightened {
		t.Fatalf("new dir: %v %v", tightened, err)
	}
	if err := os.Chmod(string(d), 0o755); err != nil {
		t.Fatal(err)
	}
	if tightened, err := d.Ensure(); err != nil || !tightened {
		t.Fatalf("0755 dir not tightened: %v %v", tightened, err)
	}
	fi, _ := os.Stat(string(d))
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	l, err := d.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.TryLock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := d.TryLock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

func TestConfigAndNames(t *testing.T) {
	d := Dir(t.TempDir())
	c, err := d.LoadConfig()
	if err != nil || c.Name != "" {
		t.Fatalf("missing config: %+v %v", c, err)
	}
	want := Config{Name: "alice", Listen: "127.0.0.1:6000", Peers: []string{"/ip4/127.0.0.1/tcp/1/p2p/x"}, Store: true}
	if err := d.SaveConfig(want); err != nil {
		t.Fatal(err)
	}
	got, err := d.LoadConfig()
	if err != nil || got.Name != want.Name || got.Listen != want.Listen || len(got.Peers) != 1 || !got.Store {
		t.Fatalf("config %+v %v", got, err)
	}
	fi, _ := os.Stat(d.ConfigPath())
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v", fi.Mode().Perm())
	}
	n, err := d.LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Set("0x04aa", "Bob"); err != nil {
		t.Fatal(err)
	}
	n2, _ := d.LoadNames()
	if n2.Get("0x04aa") != "Bob" || len(n2.Lookup("bob")) != 1 {
		t.Fatalf("names not persisted")
	}
	if err := os.WriteFile(d.ConfigPath(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LoadConfig(); err == nil {
		t.Fatal("corrupt config accepted")
	}
}

// TestNamesAddedDate: the book records when a contact was added (contact list's ADDED
// column) and still reads the older bare name map.
func TestNamesAddedDate(t *testing.T) {
	d := Dir(t.TempDir())
	if err := os.WriteFile(d.NamesPath(), []byte(`{"0x04aa":"bob"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := d.LoadNames()
	if err != nil || n.Get("0x04aa") != "bob" || !n.AddedAt("0x04aa").IsZero() {
		t.Fatalf("old format: %v %q", err, n.Get("0x04aa"))
	}
	when := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if err := n.MarkAdded("0x04aa", when); err != nil {
		t.Fatal(err)
	}
	if err := n.MarkAdded("0x04aa", when.Add(time.Hour)); err != nil { // the first date stays
		t.Fatal(err)
	}
	n2, err := d.LoadNames()
	if err != nil || n2.Get("0x04aa") != "bob" || !n2.AddedAt("0x04aa").Equal(when) {
		t.Fatalf("reloaded: %v %q %v", err, n2.Get("0x04aa"), n2.AddedAt("0x04aa"))
	}
}
