package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

func TestGroupBasic(t *testing.T) {
	tn := newTestNet(t, memory.Config{}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "friends", "a test group", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range []*peer{b, c} {
		info, err := p.c.Group(ctx, g)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if info.Name != "friends" || info.Description != "a test group" || len(info.Members) != 3 {
			t.Fatalf("%s: group %+v", p.name, info)
		}
	}
	for i, p := range []*peer{a, b, c} {
		if _, err := p.c.Send(ctx, g, protocol.Text("hello from "+p.name)); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	tn.settle()
	for _, p := range []*peer{a, b, c} {
		got := p.texts(g)
		for _, q := range []*peer{a, b, c} {
			if got["hello from "+q.name] != 1 {
				t.Errorf("%s: message from %s seen %d times (%v)", p.name, q.name, got["hello from "+q.name], got)
			}
		}
	}
}
