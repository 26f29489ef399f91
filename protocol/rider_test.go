package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealBeforeSend: an installation that must heal a departure before it sends (a
// member left and the designated installation, offline, has not rekeyed yet) rekeys, then
// sends its message under the healed epoch. The installation that left, had it kept every
// key it held (its live epochs when it left), cannot read the text sent after its leave
// (the rekey's publish may carry the group's recent membership events under the previous
// epoch, for installations added concurrently with the leave: spec), and a message of the largest size Send takes goes out too.
func TestHealBeforeSend(t *testing.T) {
	for _, size := range []int{100, protocol.MaxFrame - 300} { // Send takes up to about MaxFrame − 210
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			text := "after-leave-" + strings.Repeat("x", size)
			// Three remaining members, one designated to heal: the sender must not be it,
			// so they take turns as the one online (with the leaver), on fresh installations
			// (the designated one is random), until one is not: three attempts alone all
			// drew the designated sender about once in 27.
			for i := 0; i < 9; i++ {
				if healAttempt(t, []int{0, 1, 3}[i%3], text) {
					return
				}
			}
			t.Fatal("setup: every remaining member healed the leave on receipt")
		})
	}
}

func healAttempt(t *testing.T, s int, text string) bool {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 7, Tap: rec.tap}, 0)
	for i := 0; i < 4; i++ {
		tn.addPersistent(fmt.Sprintf("p%d", i))
	}
	ps := tn.peers
	leaver, sender := ps[2], ps[s]
	tn.connect(ps...)
	ctx := context.Background()
	g, err := ps[0].c.CreateGroup(ctx, "heal", "", ps[1].id, ps[2].id, ps[3].id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	waitSameEpoch(tn, g, ps...)
	info, err := sender.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	var others []*peer
	for i, p := range ps {
		if i != s && p != leaver {
			p.stop()
			others = append(others, p)
		}
	}
	kept := protocol.LiveEpochsForTest(leaver.c, g)
	if len(kept) == 0 {
		t.Fatal("setup: the leaver holds no epoch")
	}
	if err := leaver.c.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	tn.settle(sender)
	if protocol.RekeysForTest(sender.c) != 0 {
		t.Logf("%s is designated: it healed on receipt", sender.name)
		return false
	}
	rec.start()
	mustSend(t, sender, g, text)
	sent := rec.stop()
	if got := protocol.RekeysForTest(sender.c); got != 1 {
		t.Fatalf("setup: %s rekeyed %d times with its send, want 1", sender.name, got)
	}
	opened, carried := 0, 0
	for _, env := range sent {
		if env.Topic != info.Topic {
			continue
		}
		if pt := protocol.OpenWithEpochsForTest(kept, env.Topic, env.Payload); bytes.Contains(pt, []byte(text)) {
			opened++
		}
		// The sender's own epochs open every publish it made: the text is in one of them.
		if pt := protocol.OpenWithEpochsForTest(protocol.LiveEpochsForTest(sender.c, g), env.Topic, env.Payload); bytes.Contains(pt, []byte(text)) {
			carried++
		}
	}
	if carried != 1 {
		t.Fatalf("setup: the text is in %d of the sender's %d publishes, want 1", carried, len(sent))
	}
	if opened != 0 {
		t.Errorf("with the keys it held, the installation that left reads the text sent after its leave (%d of %d publishes)", opened, len(sent))
	}
	for _, p := range others {
		p.start(false)
	}
	tn.settle()
	for _, p := range append(others, sender) {
		tn.waitFor(p.name+" reads the message", func() bool { return p.texts(g)[text] == 1 })
	}
	return true
}

// pubRecorder keeps the publishes a memory network's tap sees between start and stop.
type pubRecorder struct {
	mu        sync.Mutex
	recording bool
	pubs      []transport.Envelope
}

func (r *pubRecorder) tap(_ string, env transport.Envelope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recording {
		r.pubs = append(r.pubs, env)
	}
}

func (r *pubRecorder) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recording = true
}

// stop ends the recording and returns what was published since start.
func (r *pubRecorder) stop() []transport.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recording = false
	return slices.Clone(r.pubs)
}
