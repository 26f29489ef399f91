package protocol_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestInboxPaddingCost measures what padding costs on the engine's own inbox traffic
// (Welcomes, device lists, link, device and contact-sync messages): six accounts,
// one of which links a second device, groups of 2, 4 and 6, members added and removed,
// messages in every group. Every padded plaintext must be its bucket's size; the table
// (go test -run TestInboxPaddingCost -v ./protocol/) is spec › Pairwise messages ›
// Padding's measurement. A type without a name fails the test (name it).
func TestInboxPaddingCost(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{}, 6)
	ps := tn.peers
	type stat struct{ n, plain, padded, frame int }
	var mu sync.Mutex
	stats := map[wire.PairwiseType]*stat{}
	hook := func(typ wire.PairwiseType, plain, padded, frame int) {
		if padded != wire.PaddedSize(plain) || padded < plain+1 {
			t.Errorf("type %d: %d bytes padded to %d", typ, plain, padded)
		}
		mu.Lock()
		defer mu.Unlock()
		s := stats[typ]
		if s == nil {
			s = &stat{}
			stats[typ] = s
		}
		s.n++
		s.plain += plain
		s.padded += padded
		s.frame += frame
	}
	for _, p := range ps {
		protocol.SetPadHook(p.c, hook)
	}
	tn.connect(ps...)
	g2, err := ps[0].c.CreateGroup(ctx, "two", "", ps[1].id)
	if err != nil {
		t.Fatal(err)
	}
	g4, err := ps[0].c.CreateGroup(ctx, "four", "a group of four", ids(ps[1:4]...)...)
	if err != nil {
		t.Fatal(err)
	}
	g6, err := ps[1].c.CreateGroup(ctx, "six", "", ids(ps[0], ps[2], ps[3], ps[4])...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	d := tn.link(ps[0], "p0-laptop")
	protocol.SetPadHook(d.c, hook)
	if err := ps[1].c.AddMembers(ctx, g6, ps[5].id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for i, g := range []protocol.GroupID{g2, g4, g6} {
		for j, p := range ps[:3] {
			if _, err := p.c.Send(ctx, g, protocol.Text(fmt.Sprintf("hello %d from %d", i, j))); err != nil && i == 0 && j < 2 {
				t.Fatal(err)
			}
		}
	}
	tn.settle()
	if err := ps[1].c.RemoveMembers(ctx, g6, ps[4].id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if _, err := ps[2].c.Send(ctx, g6, protocol.Text("after the removal")); err != nil {
		t.Fatal(err)
	}
	tn.settle()

	mu.Lock()
	defer mu.Unlock()
	names := map[wire.PairwiseType]string{wire.PairwiseWelcome: "Welcome", wire.PairwiseDeviceList: "device list",
		wire.PairwiseDistribution: "distribution", wire.PairwisePing: "ping", wire.PairwiseLink: "link", wire.PairwiseDevices: "devices",
		wire.PairwiseContacts: "contact sync", wire.PairwiseAnnounceKey: "announcement key", wire.PairwiseWelcomeV2: "Welcome v2"}
	var types []int
	var all stat
	for typ, s := range stats {
		types = append(types, int(typ))
		all.n, all.plain, all.padded, all.frame = all.n+s.n, all.plain+s.plain, all.padded+s.padded, all.frame+s.frame
	}
	if all.n == 0 {
		t.Fatal("no pairwise traffic")
	}
	sort.Ints(types)
	var b strings.Builder
	row := func(name string, s *stat) {
		unpadded := s.frame - (s.padded - s.plain) // the frame without padding (1 byte: the marker)
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | +%d (+%.0f %%) |\n", name, s.n, s.plain/s.n, unpadded/s.n, s.frame/s.n,
			(s.frame-unpadded)/s.n, 100*float64(s.frame-unpadded)/float64(unpadded))
	}
	fmt.Fprintf(&b, "| type | frames | mean plaintext | mean frame unpadded | mean frame padded | padding |\n|---|---|---|---|---|---|\n")
	for _, typ := range types {
		name, ok := names[wire.PairwiseType(typ)]
		if !ok {
			t.Errorf("pairwise type %d has no name here", typ)
		}
		row(name, stats[wire.PairwiseType(typ)])
	}
	row("all", &all)
	t.Log("\n" + b.String())
}
