package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// lossy publishes nothing (but says it did) and has or has not a history.
type lossy struct{ history bool }

func (lossy) Publish(context.Context, string, []byte) ([32]byte, error) { return [32]byte{1}, nil }
func (lossy) Subscribe(context.Context, []string) (<-chan transport.Envelope, error) {
	return nil, errors.New("no")
}
func (l lossy) History(context.Context, []string, time.Time, time.Time) ([]transport.Envelope, error) {
	if !l.history {
		return nil, transport.ErrNoHistory
	}
	return nil, nil
}

func TestFlush(t *testing.T) {
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	tr := &flushTracker{Transport: net.Join("a")}
	if n := tr.flush(ctx, time.Second); n != 0 {
		t.Fatalf("nothing published: %d", n)
	}
	for _, topic := range []string{"/chorus/1/a/proto", "/chorus/1/b/proto"} {
		if _, err := tr.Publish(ctx, topic, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := tr.flush(ctx, 5*time.Second); n != 0 {
		t.Fatalf("published messages not confirmed: %d", n)
	}
	lost := &flushTracker{Transport: lossy{history: true}}
	lost.Publish(ctx, "/chorus/1/a/proto", []byte("x"))
	if n := lost.flush(ctx, 300*time.Millisecond); n != 1 {
		t.Fatalf("a message missing from the store was confirmed: %d", n)
	}
	blind := &flushTracker{Transport: lossy{}}
	blind.Publish(ctx, "/chorus/1/a/proto", []byte("x"))
	if n := blind.flush(ctx, 300*time.Millisecond); n != 0 {
		t.Fatalf("without a store, flush trusts the relay after a grace period: %d", n)
	}
}
