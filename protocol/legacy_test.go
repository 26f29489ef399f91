package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chorus-im/chorus/internal/legacyv1"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestNoNewV1Groups (issue 19 item 2): an application cannot make a client create groups
// of key schedule v1, whose long-term secret a removed member keeps: New refuses
// WithEpochs(false) and a zero legacyv1 token; only this module's permit opens the v1 path.
func TestNoNewV1Groups(t *testing.T) {
	ctx := context.Background()
	open := func(opts ...protocol.Option) error {
		st, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c, err := protocol.New(ctx, st, memory.NewNetwork(memory.Config{}).Join("x"), opts...)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := open(protocol.WithEpochs(false)); !errors.Is(err, protocol.ErrLegacySchedule) {
		t.Errorf("WithEpochs(false): %v, want ErrLegacySchedule", err)
	}
	if err := open(protocol.WithEpochs(false), protocol.WithKeyScheduleV1(legacyv1.Token{})); !errors.Is(err, protocol.ErrLegacySchedule) {
		t.Errorf("zero token: %v, want ErrLegacySchedule", err)
	}
	if err := open(protocol.WithEpochs(true)); err != nil {
		t.Errorf("WithEpochs(true): %v", err)
	}
	if err := open(protocol.WithKeyScheduleV1(legacyv1.Permit())); err != nil {
		t.Errorf("this module's permit: %v", err)
	}
}

// TestRemovedMemberOpensNothing (issue 19 item 2): a removed member opens no group publish
// sealed after its removal with anything it held (the outer keys of its epochs, the group
// secret): in a v2 group later messages show it only their size and timing. The v1 control
// is what a legacy v1 group still gives it: every later frame opens under the group secret
// (spec › Observers, "Removed member").
func TestRemovedMemberOpensNothing(t *testing.T) {
	for _, v := range []struct {
		name  string
		net   func(testing.TB, memory.Config, int) *testNet
		opens bool
	}{{"v2", newEpochNet, false}, {"v1", newV1Net, true}} {
		t.Run(v.name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			var pubs []transport.Envelope
			var recording atomic.Bool
			tap := func(_ string, env transport.Envelope) {
				if recording.Load() {
					mu.Lock()
					pubs = append(pubs, env)
					mu.Unlock()
				}
			}
			tn := v.net(t, memory.Config{Seed: 53, Tap: tap}, 3)
			a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
			tn.connect(a, b, c)
			g, err := a.c.CreateGroup(ctx, "ex", "", b.id, c.id)
			must(t, err)
			tn.settle()
			mustSend(t, a, g, "before")
			mustSend(t, c, g, "from c")
			waitTexts(t, tn, g, []string{"before", "from c"}, a, b, c)
			info, err := a.c.Group(ctx, g)
			must(t, err)
			c.pause() // c keeps every key it held and learns nothing more
			recording.Store(true)
			must(t, a.c.RemoveMembers(ctx, g, c.id))
			tn.settle(a, b)
			if v.name == "v2" {
				waitSameEpoch(tn, g, a, b) // b applied the removal (else it may still send under c's epoch)
			}
			mu.Lock()
			removal := len(pubs) // the removal's own publishes (sealed so that the removed member learns it)
			mu.Unlock()
			for i, p := range []*peer{a, b, a, b} {
				mustSend(t, p, g, fmt.Sprint("after ", i))
			}
			waitTexts(t, tn, g, []string{"after 0", "after 1", "after 2", "after 3"}, a, b)
			recording.Store(false)
			mu.Lock()
			defer mu.Unlock()
			n, opened, removalOpened := 0, 0, 0
			for i, env := range pubs {
				if env.Topic != info.Topic {
					continue
				}
				open := protocol.InnerFrame(c.c, g, env.Payload) != nil
				if i < removal {
					if open {
						removalOpened++
					}
					continue
				}
				n++
				if open {
					opened++
				}
			}
			t.Logf("%s: the removed member opened %d of the removal's %d publishes, %d of the %d after", v.name, removalOpened, removal, opened, n)
			if n < 4 {
				t.Fatalf("%d publishes on the group topic after the removal, want ≥ 4", n)
			}
			if v.opens && opened != n || !v.opens && opened != 0 {
				t.Errorf("the removed member opened %d of %d later publishes (want all: %v)", opened, n, v.opens)
			}
		})
	}
}
