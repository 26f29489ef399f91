package waku

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/chorus-im/chorus/transport"
)

// publishUntil publishes numbered messages from pub every 50ms until ch delivers one
// published by this call.
func publishUntil(t *testing.T, ctx context.Context, pub *Node, tp string, ch <-chan transport.Envelope) {
	t.Helper()
	sent := map[[32]byte]bool{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-ch:
			if sent[e.Hash] {
				return
			}
		case <-tick.C:
			h, err := pub.Publish(ctx, tp, []byte(time.Now().String()))
			if err == nil {
				sent[h] = true
			}
		case <-deadline:
			t.Fatalf("nothing received after %d publishes", len(sent))
		}
	}
}

// TestLightFailover: when the service peer a light node receives through goes away,
// the light node subscribes through another one, and lightpush uses the survivor.
func TestLightFailover(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := start(t, Config{})
	s1 := start(t, Config{Service: true, Peers: addrs(pub)})
	s2 := start(t, Config{Service: true, Peers: addrs(pub, s1)})
	light := start(t, Config{Light: true, FilterPeers: 1, Peers: addrs(s1, s2), redial: 100 * time.Millisecond})
	waitPeers(t, map[*Node]int{pub: 2, s1: 2, s2: 2, light: 2})

	tp := "/chorus/1/failover/proto"
	ch, err := light.Subscribe(ctx, []string{tp})
	if err != nil {
		t.Fatal(err)
	}
	publishUntil(t, ctx, pub, tp, ch)

	light.filters.mu.Lock()
	var serving peer.ID
	for p := range light.filters.subs {
		serving = p
	}
	n := len(light.filters.subs)
	light.filters.mu.Unlock()
	if n != 1 {
		t.Fatalf("subscribed through %d peers, want 1", n)
	}
	victim, survivor := s1, s2
	if serving.String() != s1.w.ID() {
		victim, survivor = s2, s1
	}
	_ = victim.Close()
	waitPeers(t, map[*Node]int{survivor: 1, pub: 1})
	publishUntil(t, ctx, pub, tp, ch)

	relayCh, _ := pub.Subscribe(ctx, []string{tp})
	h, err := light.Publish(ctx, tp, []byte("through the survivor"))
	if err != nil {
		t.Fatalf("lightpush after failover: %v", err)
	}
	deadline := time.After(20 * time.Second)
	for got := false; !got; {
		select {
		case e := <-relayCh:
			got = e.Hash == h
		case <-deadline:
			t.Fatal("lightpushed message not relayed")
		}
	}
}

// TestRedial: a configured peer that restarts (same key and address) is redialed.
func TestRedial(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, Config{PrivateKey: key})
	listen := a.w.ListenAddresses()[0]
	port, err := listen.ValueForProtocol(6) // tcp
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, Config{Peers: addrs(a), redial: 100 * time.Millisecond})
	waitPeers(t, map[*Node]int{a: 1, b: 1})
	_ = a.Close()
	waitPeers(t, map[*Node]int{b: 0})
	a2 := start(t, Config{PrivateKey: key, ListenAddr: "127.0.0.1:" + port})
	waitPeers(t, map[*Node]int{a2: 1, b: 1})
	ch, _ := b.Subscribe(ctx, []string{"/chorus/1/redial/proto"})
	publishUntil(t, ctx, a2, "/chorus/1/redial/proto", ch)
}
