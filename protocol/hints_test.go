package protocol_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// hintPeers returns two contacts whose sessions are confirmed both ways: a Welcome from a
// to b (a initiates) and a ping back from b to a.
func hintPeers(t *testing.T, persistent bool) (*testNet, *peer, *peer) {
	t.Helper()
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{}, 0)
	var a, b *peer
	if persistent {
		a, b = tn.addPersistent("a"), tn.addPersistent("b")
	} else {
		a, b = tn.add("a"), tn.add("b")
	}
	tn.connect(a, b)
	if _, err := a.c.CreateGroup(ctx, "g", "", b.id); err != nil {
		t.Fatal(err)
	}
	tn.settle(a, b)
	topic, fs := sealPings(t, b, a, 1)
	if err := protocol.OpenInboxForTest(a.c, topic, fs[0]); err != nil {
		t.Fatal("setup: a cannot open b's reply:", err)
	}
	return tn, a, b
}

// sealPings seals n pings from p to q's (only) installation and returns the frames.
func sealPings(t *testing.T, p, q *peer, n int) (string, [][]byte) {
	t.Helper()
	var topic string
	var out [][]byte
	for range n {
		tp, fs, err := protocol.SealPingForTest(p.c, q.id)
		if err != nil || len(fs) != 1 {
			t.Fatalf("seal: %d frames, %v", len(fs), err)
		}
		topic, out = tp, append(out, fs[0])
	}
	return topic, out
}

// TestInboxHintsUnlinkable (issue 19 item 3): the session frames of one session carry
// different hints, and an observer holding every frame of the inbox partition — here two
// sessions' frames, interleaved — cannot group them by any header byte: the version and
// kind bytes are the same for every session frame, and no hint byte position is constant
// within a session. The sizes of equal messages are equal (padding). Fails with constant
// session hints.
func TestInboxHintsUnlinkable(t *testing.T) {
	tn, a, b := hintPeers(t, false)
	c := tn.add("c")
	tn.connect(a, c)
	ctx := context.Background()
	if _, err := a.c.CreateGroup(ctx, "g2", "", c.id); err != nil {
		t.Fatal(err)
	}
	tn.settle(a, c)
	topic, fb := sealPings(t, b, a, 8)
	_, fc := sealPings(t, c, a, 8) // c responded to a's X3DH: session frames from the start
	for name, fs := range map[string][][]byte{"b": fb, "c": fc} {
		seen := map[[16]byte]bool{}
		for _, f := range fs {
			fr, err := wire.ParseInboxFrame(f)
			if err != nil || fr.Kind != wire.KindSession {
				t.Fatalf("%s: not a session frame: %v", name, err)
			}
			if seen[fr.Hint] {
				t.Fatalf("%s: two frames of one session carry the same hint", name)
			}
			seen[fr.Hint] = true
		}
		// No header byte is constant over the session's frames except version and kind,
		// which are the same for every session frame of every session.
		for i := 0; i < wire.InboxHeaderSize; i++ {
			constant := true
			for _, f := range fs[1:] {
				constant = constant && f[i] == fs[0][i]
			}
			if constant && i >= 2 {
				t.Fatalf("%s: header byte %d is the same in every frame of the session", name, i)
			}
			if i < 2 && fb[0][i] != fc[0][i] {
				t.Fatalf("header byte %d tells sessions apart", i)
			}
		}
		for _, f := range fs {
			if len(f) != len(fb[0]) {
				t.Fatalf("%s: equal pings of different sizes %d, %d", name, len(f), len(fb[0]))
			}
		}
	}
	// Every frame is found (one lookup each), in any interleaving.
	for i := range fb {
		for _, f := range [][]byte{fc[len(fc)-1-i], fb[i]} {
			if err := protocol.OpenInboxForTest(a.c, topic, f); err != nil {
				t.Fatalf("frame %d not found: %v", i, err)
			}
		}
	}
}

// TestInboxHintsLossReorderDuplicate: reordered frames are found, a duplicate costs one
// lookup and changes nothing, a receiver that lost more than HintWindow frames in a row
// finds the later ones (from the next anchor on; the ones before it when they come again,
// as a sync's overlap brings them), and late frames of the lost run are still found.
func TestInboxHintsLossReorderDuplicate(t *testing.T) {
	_, a, b := hintPeers(t, false)
	topic, fs := sealPings(t, b, a, 10+protocol.HintWindow+40+60)
	open := func(i int) error { return protocol.OpenInboxForTest(a.c, topic, fs[i]) }
	for _, i := range []int{3, 1, 0, 2, 9, 4, 8, 5, 7, 6} {
		if err := open(i); err != nil {
			t.Fatalf("reordered frame %d: %v", i, err)
		}
	}
	for _, i := range []int{1, 9, 0} {
		digest := protocol.StateDigest(a.c)
		if err := open(i); !protocol.IsNoKey(err) {
			t.Fatalf("duplicate of frame %d: %v", i, err)
		}
		if protocol.StateDigest(a.c) != digest {
			t.Fatal("a duplicate changed the state")
		}
	}
	lost := 10 + protocol.HintWindow + 40 // frames 10..lost-1 never arrive (for now)
	var missed []int
	first := -1
	for i := lost; i < len(fs); i++ {
		err := open(i)
		switch {
		case err == nil && first < 0:
			first = i
		case err == nil:
		case protocol.IsNoKey(err) && first < 0:
			missed = append(missed, i)
		default:
			t.Fatalf("frame %d after the first one found: %v", i, err)
		}
	}
	if first < 0 || first >= lost+protocol.HintAnchorStride {
		t.Fatalf("after losing %d frames, the first one found is %d", lost-10, first)
	}
	for _, i := range append(missed, 10, 50, lost-1) { // again (history overlap), or late
		if err := open(i); err != nil {
			t.Fatalf("frame %d delivered again / late: %v", i, err)
		}
	}
}

// TestInboxHintJunk: a session frame with a random hint costs one lookup: nothing is
// stored (state digest), the junk filter does not grow, the expected hints do not change.
func TestInboxHintJunk(t *testing.T) {
	_, a, b := hintPeers(t, false)
	topic, fs := sealPings(t, b, a, 1)
	digest := protocol.StateDigest(a.c)
	hints, junk := protocol.ExpectedHintsForTest(a.c)
	if hints < protocol.HintWindow {
		t.Fatalf("a expects only %d hints", hints)
	}
	for range 500 {
		f := &wire.InboxFrame{Kind: wire.KindSession, Body: append([]byte(nil), fs[0][wire.InboxHeaderSize:]...)}
		rand.Read(f.Hint[:])
		if err := protocol.OpenInboxForTest(a.c, topic, f.Marshal()); !protocol.IsNoKey(err) {
			t.Fatalf("junk frame: %v", err)
		}
		protocol.Inject(a.c, topic, f.Marshal())
	}
	if protocol.StateDigest(a.c) != digest {
		t.Fatal("junk changed the state")
	}
	if h, j := protocol.ExpectedHintsForTest(a.c); h != hints || j != junk {
		t.Fatalf("junk changed the expected hints (%d → %d) or the junk filter (%d → %d)", hints, h, junk, j)
	}
	if err := protocol.OpenInboxForTest(a.c, topic, fs[0]); err != nil {
		t.Fatal("the real frame after the junk:", err)
	}
}

// TestInboxHintsRestart: the hint index survives a restart (no hint is used twice) and
// the receiver, restarted too, finds the frames sent after it.
func TestInboxHintsRestart(t *testing.T) {
	_, a, b := hintPeers(t, true)
	topic, before := sealPings(t, b, a, 3)
	b.restart()
	a.restart()
	_, after := sealPings(t, b, a, 3)
	hints := map[string]bool{}
	for _, f := range append(before, after...) {
		h := string(f[2:wire.InboxHeaderSize])
		if hints[h] {
			t.Fatal("a hint was used twice across a restart")
		}
		hints[h] = true
	}
	for _, f := range append(after, before...) {
		if err := protocol.OpenInboxForTest(a.c, topic, f); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInboxHintsLegacySessions: sessions stored before hint chains (hint_chain NULL, as
// migration 7 leaves them) still receive on their constant hint; the next send replaces
// such a session by a new one (X3DH), whose frames then carry per-message hints.
func TestInboxHintsLegacySessions(t *testing.T) {
	_, a, b := hintPeers(t, true)
	topic, old := sealPings(t, b, a, 1) // sealed on the chain before the "migration"
	a.stop()
	b.stop()
	for _, p := range []*peer{a, b} {
		db, err := sql.Open("sqlite3", "file:"+p.path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE sessions SET hint_chain = NULL`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	a.start(false)
	b.start(false)
	// A frame of the session that b sealed before and that a did not receive yet, with
	// the session's constant hint (how a legacy sender sends it) is found and opens.
	legacy := append([]byte(nil), old[0]...)
	hint := protocol.SessionSendHintForTest(b.c, a.id)
	copy(legacy[2:wire.InboxHeaderSize], hint[:])
	if err := protocol.OpenInboxForTest(a.c, topic, legacy); err != nil {
		t.Fatal("a frame on the legacy session's constant hint:", err)
	}
	_, fs := sealPings(t, b, a, 1)
	fr, err := wire.ParseInboxFrame(fs[0])
	if err != nil || fr.Kind != wire.KindInitial {
		t.Fatalf("the first send after the migration is not a new session (X3DH): %v", err)
	}
	if err := protocol.OpenInboxForTest(a.c, topic, fs[0]); err != nil {
		t.Fatal(err)
	}
	btopic, back := sealPings(t, a, b, 2)
	for _, f := range back {
		fr, err := wire.ParseInboxFrame(f)
		if err != nil || fr.Kind != wire.KindSession {
			t.Fatal("a's reply on the new session is not a session frame")
		}
		if err := protocol.OpenInboxForTest(b.c, btopic, f); err != nil {
			t.Fatal("b does not find a's reply:", err)
		}
	}
	if bytes.Equal(back[0][2:18], back[1][2:18]) {
		t.Fatal("the new session's frames carry the same hint")
	}
}

// TestInboxHintWhole: the receiver finds a session frame by its hint's first 8 bytes
// (the compact expected set, issue 16) and checks the whole hint: a frame whose hint
// differs from an expected one in any byte is not ours (IsNoKey), is not decrypted, and
// changes nothing — the genuine frames open after it.
func TestInboxHintWhole(t *testing.T) {
	_, a, b := hintPeers(t, false)
	topic, fs := sealPings(t, b, a, 2)
	for _, at := range []int{2, 9, 10, 17} { // hint bytes 0, 7, 8, 15
		bad := bytes.Clone(fs[0])
		bad[at] ^= 1
		if err := protocol.OpenInboxForTest(a.c, topic, bad); !protocol.IsNoKey(err) {
			t.Fatalf("hint byte %d changed: %v, want no key", at-2, err)
		}
	}
	for i, f := range fs {
		if err := protocol.OpenInboxForTest(a.c, topic, f); err != nil {
			t.Fatalf("frame %d after the altered ones: %v", i, err)
		}
	}
}
