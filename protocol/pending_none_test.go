package protocol_test

import (
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestRetryPendingNoneKnown: a client retries its pending envelopes after every
// envelope that brought keys (every key event of a v2 group). While it knows the store
// holds none (a committed read found none and none was put since), the retry reads
// nothing (issue 13: it was a transaction and a query per key event received).
func TestRetryPendingNoneKnown(t *testing.T) {
	_, _, b, _, _ := benchGroup(t)
	b.pause()
	protocol.RetryPending(b.c) // reads the store: none pending
	before := b.store.Statements()
	protocol.RetryPending(b.c)
	if n := b.store.Statements() - before; n != 0 {
		t.Errorf("a retry with no pending envelope known ran %d statements, want 0", n)
	}
}
