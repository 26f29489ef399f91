package protocol_test

import (
	"context"
	cryptorand "crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecKeyIDHijack: a member distributes a sender key of its own under another
// member's key id (key ids travel in clear in every message header). The claim is
// refused, so the victim's later messages still reach the other members.
func TestSecKeyIDHijack(t *testing.T) {
	tn := newV1Net(t, memory.Config{Seed: 61}, 3) // key ids exist under key schedule v1 only
	victim, mallory, b := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := victim.c.CreateGroup(ctx, "g", "", mallory.id, b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	info, _ := victim.c.Group(ctx, g)
	tp := newTap(t, tn.net, info.Topic)
	if _, err := victim.c.Send(ctx, g, protocol.Text("before")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	envs := tp.all()
	if len(envs) != 1 {
		t.Fatalf("tap saw %d publishes", len(envs))
	}
	key, _, ok := protocol.GroupFrameInfo(b.c, g, envs[0].Payload)
	if !ok {
		t.Fatal("cannot read the victim's key id")
	}
	protocol.ForgeSenderKeyID(mallory.c, g, key)
	if _, err := mallory.c.Send(ctx, g, protocol.Text("mallory under the victim's key id")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for i := range 3 {
		if _, err := victim.c.Send(ctx, g, protocol.Text("after "+string(rune('0'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	got := b.texts(g)
	for _, want := range []string{"before", "after 0", "after 1", "after 2"} {
		if got[want] != 1 {
			t.Errorf("b got %q %d times, want once (b has %v)", want, got[want], got)
		}
	}
}

// TestSecRotationAmplification: a member (or anyone holding the group secret) publishes
// maximum-size frames full of rotation-block slots addressed to a victim. A block whose
// public distribution does not verify gets no slot tried, a verified one at most one; the
// frames kept for later (unknown key id) are bounded in bytes, and a flood cannot evict a
// legitimate pending message.
func TestSecRotationAmplification(t *testing.T) {
	tn := newV1Net(t, memory.Config{Seed: 67}, 3) // v1 rotation blocks; v2: TestSecKeyBlockAmplification
	a, victim, mallory := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", victim.id, mallory.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range tn.peers {
		if _, err := p.c.Send(ctx, g, protocol.Text("hello from "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	tp := newTap(t, tn.net, info.Topic)

	// A legitimate message the victim cannot open yet: a's new sender key reaches the
	// victim only with p1, which the victim gets after the flood.
	victim.pause()
	var fresh [8]byte
	cryptorand.Read(fresh[:])
	protocol.ForgeSenderKeyID(a.c, g, fresh)
	for _, txt := range []string{"p1", "p2"} {
		if _, err := a.c.Send(ctx, g, protocol.Text(txt)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle(a, mallory)
	envs := tp.all()
	if len(envs) != 2 {
		t.Fatalf("tap saw %d publishes", len(envs))
	}
	f, err := wire.ParseGroupFrame(protocol.InnerFrame(victim.c, g, envs[1].Payload))
	if err != nil {
		t.Fatal(err)
	}
	f.Rotation = nil // p2 without its (repeated) rotation block
	inner, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	protocol.Inject(victim.c, info.Topic, protocol.SealInner(a.c, g, inner))
	if n, _ := protocol.PendingStats(victim.c); n != 1 {
		t.Fatalf("%d pending after p2, want 1", n)
	}

	// Forged signatures: no slot is tried.
	tries := protocol.SlotTries(victim.c)
	for range 4 {
		inner := protocol.ForgedRotation(mallory.c, victim.c, g, true, protocol.MaxFrame)
		protocol.Inject(victim.c, info.Topic, protocol.SealInner(a.c, g, inner))
	}
	if n := protocol.SlotTries(victim.c) - tries; n != 0 {
		t.Errorf("%d slots tried for blocks whose signature does not verify, want 0", n)
	}
	// Valid signatures (mallory signs her own distribution): at most one slot each.
	const frames = 20
	tries = protocol.SlotTries(victim.c)
	for range frames {
		inner := protocol.ForgedRotation(mallory.c, victim.c, g, false, protocol.MaxFrame)
		protocol.Inject(victim.c, info.Topic, protocol.SealInner(a.c, g, inner))
	}
	if n := protocol.SlotTries(victim.c) - tries; n > frames {
		t.Errorf("%d slots tried for %d forged blocks, want at most one each", n, frames)
	}
	// Frames of unknown key ids without a rotation block, each under a different key id.
	for range 130 {
		s, err := senderkeys.NewSender(cryptorand.Reader, g[:])
		if err != nil {
			t.Fatal(err)
		}
		msg, err := s.Seal(make([]byte, protocol.MaxFrame-200))
		if err != nil {
			t.Fatal(err)
		}
		inner, err := (&wire.GroupFrame{Message: msg}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		protocol.Inject(victim.c, info.Topic, protocol.SealInner(a.c, g, inner))
	}
	// Spec: pending envelopes are bounded by MaxPendingBytes (16 MiB) in all.
	if _, size := protocol.PendingStats(victim.c); size > 16<<20 {
		t.Errorf("%d bytes pending after the flood, want at most 16 MiB", size)
	}

	// p1 brings a's key: p1 and the pending p2 both open.
	protocol.Inject(victim.c, info.Topic, envs[0].Payload)
	protocol.RetryPending(victim.c)
	got := victim.texts(g)
	for _, want := range []string{"p1", "p2"} {
		if got[want] != 1 {
			t.Errorf("victim got %q %d times, want once", want, got[want])
		}
	}
}

// TestSecPowerLoss simulates a power loss that loses the commits the store had not
// synced (copy the database file as it was at the last sync, drop the WAL), restarts the
// client and sends again: no sender-key iteration, ratchet message key or inbox hint index is
// ever used twice.
func TestSecPowerLoss(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 71}, 0)
	a := tn.addPersistent("a")
	b := tn.add("b")
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	tp := newTap(t, tn.net, info.Topic)
	inbox := tapInbox(t, tn, b)
	send := func(txt string) {
		t.Helper()
		if _, err := a.c.Send(ctx, g, protocol.Text(txt)); err != nil {
			t.Fatal(err)
		}
	}
	newGroup := func(name string) protocol.GroupID {
		t.Helper()
		id, err := a.c.CreateGroup(ctx, name, "", b.id) // a Welcome in a's session with b
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	send("before")
	// b answers in the session a started (a Welcome of b's): a's messages to b no longer
	// carry an X3DH header, their ratchet headers travel in clear on b's inbox topic.
	if _, err := b.c.CreateGroup(ctx, "from b", "", a.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	// Everything so far reaches the database file (as an automatic checkpoint would).
	checkpoint(t, a.path)
	a.pause()
	for i := range 3 {
		send("lost " + string(rune('0'+i)))
	}
	newGroup("lost")
	newGroup("lost too") // the first inbox index syncs its lease; this one does not
	// Power loss: what was not synced is gone. With synchronous=NORMAL nothing written to
	// the WAL since the last checkpoint is synced, so the database file alone is what a
	// power loss can leave.
	crash := filepath.Join(t.TempDir(), "crash.db")
	copyFile(t, a.path, crash)
	a.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(a.path + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	copyFile(t, crash, a.path)
	a.start(false)
	for i := range 3 {
		send("after " + string(rune('0'+i)))
	}
	g3 := newGroup("after")
	tn.settle()

	// Double Ratchet: no (ratchet key, message number) of a's sessions sealed twice.
	// Inbox hint chain: no hint index used for two different frames (hint chain lease).
	drSealed, drMessages, hinted := map[string]string{}, 0, map[[16]byte]string{}
	for _, e := range inbox.all() {
		f, err := wire.ParseInboxFrame(e.Payload)
		if err != nil || f.Kind != wire.KindSession || len(f.Body) < 41 {
			continue
		}
		if prev, ok := hinted[f.Hint]; ok && prev != string(f.Body) {
			t.Errorf("hint %x used for two frames", f.Hint[:4])
		}
		hinted[f.Hint] = string(f.Body)
		k := fmt.Sprintf("%x/%x", f.Body[1:33], f.Body[37:41])
		if prev, ok := drSealed[k]; ok && prev != string(f.Body) {
			t.Errorf("ratchet key %x message %x sealed twice", f.Body[1:5], f.Body[37:41])
		}
		drSealed[k] = string(f.Body)
		drMessages++
	}
	if drMessages < 2 {
		t.Errorf("inbox tap saw %d session messages, want 2", drMessages)
	}
	if _, err := b.c.Group(ctx, g3); err != nil {
		t.Errorf("b did not join the group created after the restart: %v", err)
	}

	if sealed := assertSealedOnce(t, b, g, tp, "group topic"); sealed < 7 {
		t.Errorf("tap saw %d distinct messages, want 7", sealed)
	}
	got := b.texts(g)
	for _, want := range []string{"before", "lost 0", "lost 2", "after 0", "after 2"} {
		if got[want] != 1 {
			t.Errorf("b got %q %d times, want once", want, got[want])
		}
	}
}

// checkpoint copies a database's WAL into its main file, from another connection.
func checkpoint(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy, log, done int
	if err := db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Fatalf("checkpoint busy (log %d, checkpointed %d)", log, done)
	}
}

// BenchmarkSendFile is BenchmarkSend with the sender's store in a file (the durable
// store: its syncs are part of the cost).
func BenchmarkSendFile(b *testing.B) {
	tn := newTestNet(b, memory.Config{Seed: 29}, 0)
	a := tn.addAt("a", filepath.Join(b.TempDir(), "a.db"))
	other := tn.add("c")
	tn.connect(a, other)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "bench", "", other.id)
	if err != nil {
		b.Fatal(err)
	}
	tn.settle()
	other.pause()
	text := protocol.Text(strings.Repeat("x", 100))
	if _, err := a.c.Send(ctx, g, text); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.c.Send(ctx, g, text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForgedPublish measures what a maximum-size forged publish costs its victim
// (issue 12 hole 5): a rotation block under a validly signed public distribution of the
// attacker's, as many slots addressed to the victim as fit, each tampered, and a message
// under the key it distributes (unknown to the victim). Receive/Max, a legitimate group
// message of the same size, is the yardstick (testdata/benchtargets.txt: at most 2x).
func BenchmarkForgedPublish(b *testing.B) {
	tn := newTestNet(b, memory.Config{Seed: 73}, 3)
	a, victim, mallory := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "bench", "", victim.id, mallory.id)
	if err != nil {
		b.Fatal(err)
	}
	tn.settle()
	for _, p := range tn.peers {
		if _, err := p.c.Send(ctx, g, protocol.Text("hello")); err != nil {
			b.Fatal(err)
		}
	}
	tn.settle()
	victim.pause()
	info, _ := a.c.Group(ctx, g)
	var inners [][]byte
	for range 8 {
		inners = append(inners, protocol.ForgedRotation(mallory.c, victim.c, g, false, protocol.MaxFrame))
	}
	payloads := make([][]byte, 64)
	for i := range payloads {
		payloads[i] = protocol.SealInner(a.c, g, inners[i%len(inners)])
	}
	b.SetBytes(int64(len(payloads[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := payloads[i%len(payloads)]
		if i >= len(payloads) { // a fresh outer nonce: a new envelope, processed in full
			b.StopTimer()
			p = protocol.SealInner(a.c, g, inners[i%len(inners)])
			b.StartTimer()
		}
		protocol.Inject(victim.c, info.Topic, p)
	}
}
