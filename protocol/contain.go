package protocol

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// Panic containment. A panic in the engine is a bug; one that network input reaches
// (a decoder, a rule, a state a crafted message drives the engine into) would otherwise
// take the embedding process down — on every member that receives the message, and
// again at every restart, since catch-up brings the envelope back. Instead:
//   - a transaction whose work panics fails with ErrInternal (runTx): the store rolls it
//     back and its cache rollbacks run, as for any error;
//   - the engine then rebuilds its in-memory caches from the store (afterInternal), in
//     case the panic struck between a cache change and the rollback it registers;
//   - an inbound envelope that failed so gets its replay marker (settleInbound's default
//     case): it is skipped from then on, here and after a restart, like any envelope
//     that fails once a key opened it;
//   - the work done ahead of a catch-up batch on other goroutines (ahead.go) drops its
//     result on a panic, leaving the envelope to the sequential path above;
//   - an ErrInternal is not retried (spec: protocol, "Delivery": the first try ran on caches
//     agreeing with the store, a second would panic again);
//   - a panic past runTx's recover (after-commit actions, settleInbound, the junk filter)
//     goes on to the caller with the engine's locks released (deferred: txTurn,
//     inboundTurn, runBatch) and the caches marked stale (endTurn; reload.go).
// Each panic is logged at Error level with its stack.

// recovered logs a recovered panic value r and returns the error that replaces it.
func (c *Client) recovered(r any) error {
	c.log.Error("internal error: recovered panic", "panic", r, "stack", string(debug.Stack()))
	return fmt.Errorf("%w: %v", ErrInternal, r)
}

// afterInternal rebuilds the caches after a transaction failed with ErrInternal. Called
// without the engine's locks.
func (c *Client) afterInternal(ctx context.Context, err error) {
	if err == nil || !errors.Is(err, ErrInternal) {
		return
	}
	if lerr := c.reload(ctx); lerr != nil {
		c.log.Error("reload after an internal error", "err", lerr)
	}
}

// keylessContained is keyless (c.mu held) with a panic turned into ErrInternal.
func (c *Client) keylessContained(ctx context.Context, topic string, payload []byte) (none bool, pre *preopened, err error) {
	defer func() {
		if r := recover(); r != nil {
			none, pre, err = false, nil, c.recovered(r)
		}
	}()
	none, pre = c.keyless(ctx, topic, payload)
	return none, pre, nil
}
