package app

import (
	"context"
	"path/filepath"
	"testing"
)

// TestNamesMovedIntoEngine: a name from names.json of an earlier version is moved into
// the engine (which shares it with the account's other devices) and dropped from the
// file; names set later go to the engine only.
func TestNamesMovedIntoEngine(t *testing.T) {
	ctx := context.Background()
	ps := newPeople(t, "alice", "bob")
	alice, bob := ps["alice"], ps["bob"]
	bobID := mustID(t, bob)
	if _, err := alice.s.AddContact(ctx, ContactAddParams{Code: bobID.Code}); err != nil {
		t.Fatal(err)
	}
	// names.json as an earlier version left it, read by a fresh Service.
	dir := Dir(t.TempDir())
	old := &Names{path: filepath.Join(string(dir), "names.json"), m: map[string]string{bobID.Account: "bobby"}}
	if err := old.Set(bobID.Account, "bobby"); err != nil {
		t.Fatal(err)
	}
	names, err := dir.LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(alice.s.Client(), dir, names, Config{Name: "alice"}, fakeNet{peers: 1}, true)
	if got := s.DisplayName(bobID.Account); got != "bobby" {
		t.Fatalf("display name %q", got)
	}
	ct, err := s.Client().Contact(ctx, bobID.Account)
	if err != nil || ct.Name != "bobby" {
		t.Fatalf("engine name %q %v", ct.Name, err)
	}
	if again, _ := dir.LoadNames(); again.Get(bobID.Account) != "" {
		t.Fatal("the moved name stayed in names.json")
	}
	if _, err := s.NameContact(ctx, ContactNameParams{Contact: "bobby", Name: "Robert"}); err != nil {
		t.Fatal(err)
	}
	if ct, _ := s.Client().Contact(ctx, bobID.Account); ct.Name != "Robert" {
		t.Fatalf("after rename: %q", ct.Name)
	}
	if id, err := s.ResolveAccount(ctx, "robert"); err != nil || id != bobID.Account {
		t.Fatalf("resolve by the engine's name: %q %v", id, err)
	}
}
