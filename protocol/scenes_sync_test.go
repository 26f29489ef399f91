package protocol_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// Scenes shared by the Sync tests over a test store (review 13, 16, 18, resume).

// storeScene: a (a fresh net's one peer, seed) and b, whose client runs over via(b's
// node) — the test's store wrapper — with no periodic Sync; a group g of both, on one
// epoch; a sends live (in order) and b reads them live.
func storeScene(t *testing.T, seed int64, via func(*memory.Node) protocol.Transport, live []string) (tn *testNet, a, b *peer, g protocol.GroupID) {
	t.Helper()
	ctx := context.Background()
	tn = newNetWith(t, memory.Config{Seed: seed}, 1)
	a = tn.peers[0]
	b = tn.addVia("b", via, protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	for _, text := range live {
		mustSend(t, a, g, text)
	}
	waitTexts(t, tn, g, live, b)
	return tn, a, b, g
}

// numbered returns n texts "prefix 00", "prefix 01", ...
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %02d", prefix, i)
	}
	return out
}

// sendAway has a send n texts "away 00", ... in g (b paused: it misses them live).
func sendAway(t *testing.T, a *peer, g protocol.GroupID, n int) {
	t.Helper()
	for _, text := range numbered("away", n) {
		mustSend(t, a, g, text)
	}
}

// awayRead returns how many of the "away" texts b reads in g.
func awayRead(b *peer, g protocol.GroupID) int {
	n := 0
	for text := range b.texts(g) {
		if strings.HasPrefix(text, "away ") {
			n++
		}
	}
	return n
}

// syncWithin runs one Sync of b given d.
func syncWithin(ctx context.Context, b *peer, d time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return b.c.Sync(sctx)
}
