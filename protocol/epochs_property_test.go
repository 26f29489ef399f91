package protocol_test

// The property test of key schedule v2: random membership changes, rekeys and messages
// (on odd seeds, half of the changes concurrent with the next) under loss.

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestEpochsProperty runs random membership changes, rekeys and messages (on odd seeds,
// half of the changes concurrent with the next) over a network that drops, duplicates and
// reorders 10 % of deliveries (a history store lets members
// catch up), for 200 seeds (20 with -short; CHORUS_EPOCHS_SEEDS overrides): every member converges on the same
// membership and epoch and reads every message sent under it; departed installations
// read none of them.
func TestEpochsProperty(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	// make test runs 20 seeds under -race and all 200 without it (make property).
	if v, err := strconv.Atoi(os.Getenv("CHORUS_EPOCHS_SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	for seed := range seeds {
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { epochsPropertyRun(t, int64(seed)) }) {
			return
		}
	}
}

func epochsPropertyRun(t *testing.T, seed int64) {
	// Odd seeds leave half of the membership changes unsettled, so that the next change
	// (by another installation: a leave, a rekey) is concurrent with it.
	concurrent := seed%2 == 1 || os.Getenv("CHORUS_EPOCHS_CONCURRENT") != ""
	// Seeds 2 and 3 of every 4: every add Welcome carries a snapshot (newcomers hold the
	// group from it; small groups otherwise get the log).
	opts := []protocol.Option{protocol.WithEpochs(true)}
	if seed%4 >= 2 {
		opts = append(opts, protocol.WithSnapshotsAlways())
	}
	tn := newNetWith(t, memory.Config{Seed: 1000 + seed, DropRate: 0.1, DuplicateRate: 0.1, ReorderRate: 0.1}, 0, opts...)
	a, b, c := tn.add("a"), tn.add("b"), tn.add("c")
	d := tn.add("d")
	if os.Getenv("EPOCH_DEBUG") != "" {
		d = tn.addAt("d2", ":memory:", protocol.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", "d")))
	}
	all := []*peer{a, b, c, d}
	tn.connect(all...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "prop", "", b.id, c.id)
	must(t, err)
	member := map[*peer]bool{a: true, b: true, c: true}
	departed := map[*peer]bool{}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	tn.waitFor("joined", func() bool {
		for p := range member {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	active := func() []*peer {
		var out []*peer
		for _, p := range all {
			if member[p] {
				out = append(out, p)
			}
		}
		return out
	}
	var log []string
	for step := range 6 {
		ms := active()
		switch op := rng.IntN(5); {
		case op == 1 && !member[d] && !departed[d]:
			must(t, a.c.AddMembers(ctx, g, d.id))
			member[d] = true
			log = append(log, "add d")
			tn.waitFor("d joined", func() bool { _, err := d.c.Group(ctx, g); return err == nil })
		case op == 2 && len(ms) > 1:
			victim := ms[1+rng.IntN(len(ms)-1)]
			if err := a.c.RemoveMembers(ctx, g, victim.id); err != nil {
				t.Fatalf("remove %s: %v", victim.name, err)
			}
			member[victim], departed[victim] = false, true
			log = append(log, "remove "+victim.name)
		case op == 3:
			p := ms[rng.IntN(len(ms))]
			if err := p.c.Rekey(ctx, g); err != nil {
				t.Fatalf("%s: rekey: %v (%v)", p.name, err, log)
			}
			log = append(log, "rekey "+p.name)
		case op == 4 && member[b]:
			must(t, b.c.Leave(ctx, g))
			member[b], departed[b] = false, true
			log = append(log, "b leaves")
		default:
			p := ms[rng.IntN(len(ms))]
			if _, err := p.c.Send(ctx, g, protocol.Text(fmt.Sprint("m", step))); err != nil {
				t.Fatalf("%s: send: %v (%v)", p.name, err, log)
			}
			log = append(log, "send "+p.name)
		}
		if len(log[len(log)-1]) > 0 && !strings.HasPrefix(log[len(log)-1], "send") && (!concurrent || rng.IntN(2) == 0) {
			// Membership changes and rekeys settle, under loss, before the next step
			// (concurrent: half of them do not, so the next change by another installation
			// is concurrent with it).
			tn.settle(active()...)
		} else if rng.IntN(2) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	ms := active()
	tn.waitFor("convergence", func() bool {
		var ep epoch.ID
		for i, p := range ms {
			info, err := p.c.Group(ctx, g)
			if err != nil || info.Status != protocol.GroupActive || len(info.Members) != len(ms) {
				return false
			}
			_, _, cur := protocol.EpochInfo(p.c, g)
			if cur == (epoch.ID{}) || (i > 0 && cur != ep) {
				return false
			}
			ep = cur
		}
		return true
	}, func() string {
		out := fmt.Sprint(log)
		for _, p := range all {
			info, err := p.c.Group(ctx, g)
			_, f, cur := protocol.EpochInfo(p.c, g)
			out += fmt.Sprintf("; %s: %v status %v %d members, frontier %d %x, epoch %x rekeys %d", p.name, err, info.Status, len(info.Members), len(f), f, cur[:4], protocol.RekeysForTest(p.c))
		}
		return out
	})
	var finals []string
	for _, p := range ms {
		text := "final " + p.name
		mustSend(t, p, g, text)
		finals = append(finals, text)
	}
	tn.waitFor("finals read", func() bool {
		for _, p := range ms {
			got := p.texts(g)
			for _, f := range finals {
				if got[f] != 1 {
					return false
				}
			}
		}
		return true
	}, func() string { return fmt.Sprint(log) })
	for p := range departed {
		got := p.texts(g)
		for _, f := range finals {
			if got[f] != 0 {
				t.Errorf("%s (departed) read %q (%v)", p.name, f, log)
			}
		}
	}
}
