package protocol_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestNoOpChangesSendNothing pins spec membership › "Re-adding a member or promoting an
// admin is a no-op for authors too": AddMembers of a member and AddAdmins of an admin sign
// and send nothing and return nil; renaming to the current name (an event the causal rules
// discard) is refused with ErrNotAdmin and sends nothing. The stored log is unchanged.
func TestNoOpChangesSendNothing(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 13}, 0)
	a, b, c := tn.add("a"), tn.add("b"), tn.add("c")
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	size, applied, pending := protocol.StoredEventsForTest(a.c, g)
	before := tn.net.Stats().Publishes

	if err := a.c.AddMembers(ctx, g, b.id); err != nil {
		t.Fatalf("AddMembers of a member: %v", err)
	}
	if err := a.c.AddAdmins(ctx, g, a.id); err != nil {
		t.Fatalf("AddAdmins of an admin: %v", err)
	}
	if err := a.c.SetName(ctx, g, "g"); !errors.Is(err, protocol.ErrNotAdmin) {
		t.Fatalf("SetName to the current name: %v, want ErrNotAdmin", err)
	}
	if err := a.c.AddAdmins(ctx, g, c.id); !errors.Is(err, protocol.ErrNotMember) {
		t.Fatalf("AddAdmins of a non-member: %v, want ErrNotMember", err)
	}
	tn.settle()
	if pubs := tn.net.Stats().Publishes - before; pubs != 0 {
		t.Errorf("no-op changes published %d messages", pubs)
	}
	s2, a2, p2 := protocol.StoredEventsForTest(a.c, g)
	if s2 != size || a2 != applied || p2 != pending {
		t.Errorf("stored log changed: %d/%d/%d bytes/applied/pending, was %d/%d/%d", s2, a2, p2, size, applied, pending)
	}

	// A real change still goes through (and is sent).
	if err := a.c.SetName(ctx, g, "renamed"); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if pubs := tn.net.Stats().Publishes - before; pubs == 0 {
		t.Error("a rename published nothing")
	}
}
