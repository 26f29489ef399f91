package node

import (
	"context"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
)

// peerID starts the node's Waku node once and returns its libp2p peer id.
func peerID(t *testing.T, dir app.Dir, o Options) string {
	t.Helper()
	n := &Node{Dir: dir}
	o.Dir = dir
	w, err := n.startWaku(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	addr := w.ListenAddrs()[0]
	return addr[strings.LastIndex(addr, "/p2p/")+5:]
}

// TestPeerIDEphemeral (PRIV1, issue 19 item 1): a node that serves nobody takes a new
// peer id per process, so store and first-hop peers cannot link its sessions by it; a
// node that serves store (or listens on a configured address) keeps a stable one.
func TestPeerIDEphemeral(t *testing.T) {
	dir := app.Dir(t.TempDir())
	if a, b := peerID(t, dir, Options{}), peerID(t, dir, Options{}); a == b {
		t.Fatalf("a client node kept its peer id %s across restarts", a)
	}
	if a, b := peerID(t, dir, Options{Store: true}), peerID(t, dir, Options{Store: true}); a != b {
		t.Fatalf("a store node changed its peer id: %s, %s", a, b)
	}
	if a, b := peerID(t, dir, Options{Listen: "127.0.0.1:0"}), peerID(t, dir, Options{Listen: "127.0.0.1:0"}); a != b {
		t.Fatalf("a node listening on a configured address changed its peer id: %s, %s", a, b)
	}
}
