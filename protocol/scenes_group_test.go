package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// joinedGroup: creator creates a group named name with members, waits until every member
// has joined it, then until creator and members are on one epoch.
func joinedGroup(t *testing.T, tn *testNet, name string, creator *peer, members ...*peer) protocol.GroupID {
	t.Helper()
	ctx := context.Background()
	g, err := creator.c.CreateGroup(ctx, name, "", ids(members...)...)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range members {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, append([]*peer{creator}, members...)...)
	return g
}
