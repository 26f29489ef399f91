package main

/*
#include <stdlib.h>
#include <pthread.h>
#include "chorus.h"

// A callback subscription's state word: idle, in a call of its callback, or closed.
enum { CHORUS_SUB_IDLE = 0, CHORUS_SUB_CALLING = 1, CHORUS_SUB_CLOSED = 2 };

// chorus_invoke calls cb unless the subscription is closed (returns 0 then, 1 after a
// call), publishing the calling thread in *tid for the duration of the call
// (chorus_subscription_close called from inside cb must not wait for cb). The state goes
// from idle to calling by compare-and-swap right before the call: a close that swapped in
// CLOSED first is never followed by a call (review 13: the dispatcher checked for a close,
// then encoded the event and called; a close from inside another callback returned in
// between and the callback began after it, up to 87 µs later). chorus_in_cb counts the
// callbacks running on this thread (chorus_in_callback).
static __thread int chorus_in_cb;
static inline int chorus_invoke(chorus_event_cb cb, void *ud, const char *json, size_t len, uint64_t *tid, uint32_t *state) {
	uint32_t idle = CHORUS_SUB_IDLE;
	__atomic_store_n(tid, (uint64_t)pthread_self(), __ATOMIC_SEQ_CST);
	if (!__atomic_compare_exchange_n(state, &idle, CHORUS_SUB_CALLING, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(tid, 0, __ATOMIC_SEQ_CST);
		return 0;
	}
	chorus_in_cb++;
	cb(ud, json, len);
	chorus_in_cb--;
	uint32_t calling = CHORUS_SUB_CALLING;
	__atomic_compare_exchange_n(state, &calling, CHORUS_SUB_IDLE, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	__atomic_store_n(tid, 0, __ATOMIC_SEQ_CST);
	return 1;
}
static inline uint64_t chorus_thread_self(void) { return (uint64_t)pthread_self(); }
// chorus_in_callback: this thread is inside some subscription's callback.
static inline int chorus_in_callback(void) { return chorus_in_cb > 0; }
*/
import "C"

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/chorus-im/chorus/bindings/c/abijson"
	"github.com/chorus-im/chorus/protocol"
)

// subscription is one event stream of a client: read with chorus_next_event, or pushed
// to a C callback by a dispatcher goroutine.
type subscription struct {
	ch     <-chan protocol.Event
	cancel context.CancelFunc

	done      chan struct{} // closed by close
	closeOnce sync.Once

	callback bool
	// thread is the pthread running the callback right now (0: none), written by
	// chorus_invoke. While a goroutine is in a C call it stays on its thread, and a call
	// back into Go from that C code runs on the same thread: so a close running on this
	// thread is inside the callback.
	thread     *uint64
	state      *uint32       // chorus_invoke's state word (Go memory, no Go pointers)
	dispatched chan struct{} // closed when the dispatcher has returned
}

func subscribe(cl *client) *subscription {
	ctx, cancel := context.WithCancel(cl.ctx)
	return &subscription{ch: cl.c.Subscribe(ctx), cancel: cancel, done: make(chan struct{})}
}

func encodeEvent(ev protocol.Event) []byte {
	b, err := json.Marshal(abijson.EventOf(ev))
	if err != nil { // unreachable: plain values only
		b = []byte(`{"type":"unknown"}`)
	}
	return b
}

//export chorus_subscribe
func chorus_subscribe(h C.chorus_client, out *C.chorus_subscription, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		*out = C.chorus_subscription(newHandle(subscribe(cl)))
		return nil
	})
}

//export chorus_next_event
func chorus_next_event(h C.chorus_subscription, timeoutMS C.int64_t, out **C.char, errOut **C.char) C.int {
	return call(errOut, func() error {
		s, err := lookup[*subscription](C.uint64_t(h))
		if err != nil {
			return err
		}
		if s.callback {
			return errCode(codeInvalidArgument, "chorus: chorus_next_event on a callback subscription")
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out_json must not be NULL")
		}
		var timeout <-chan time.Time
		if timeoutMS >= 0 {
			t := time.NewTimer(millis(int64(timeoutMS)))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case ev, ok := <-s.ch:
			if !ok {
				return errStreamClosed
			}
			*out = C.CString(string(encodeEvent(ev)))
			return nil
		case <-s.done:
			return errStreamClosed
		case <-timeout:
			return errTimeout
		}
	})
}

//export chorus_subscribe_callback
func chorus_subscribe_callback(h C.chorus_client, cb C.chorus_event_cb, userData unsafe.Pointer, out *C.chorus_subscription, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		if cb == nil || out == nil {
			return errCode(codeInvalidArgument, "chorus: cb and out must not be NULL")
		}
		s := subscribe(cl)
		s.callback = true
		s.thread = new(uint64)
		s.state = new(uint32)
		s.dispatched = make(chan struct{})
		go s.dispatch(cb, userData)
		*out = C.chorus_subscription(newHandle(s))
		return nil
	})
}

// dispatch calls cb for each event until the stream ends or the subscription closes.
func (s *subscription) dispatch(cb C.chorus_event_cb, userData unsafe.Pointer) {
	defer close(s.dispatched)
	for {
		select {
		case <-s.done:
			return
		case ev, ok := <-s.ch:
			if !ok {
				return
			}
			select {
			case <-s.done:
				return
			default:
			}
			b := append(encodeEvent(ev), 0)
			// The bytes and the two words are Go memory without Go pointers, borrowed by C
			// for the call.
			if C.chorus_invoke(cb, userData, (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)-1),
				(*C.uint64_t)(unsafe.Pointer(s.thread)), (*C.uint32_t)(unsafe.Pointer(s.state))) == 0 {
				return // closed
			}
		}
	}
}

//export chorus_subscription_close
func chorus_subscription_close(h C.chorus_subscription, errOut **C.char) C.int {
	return call(errOut, func() error {
		s, err := lookup[*subscription](C.uint64_t(h))
		if err != nil {
			return err
		}
		deleteHandle(C.uint64_t(h))
		s.closeOnce.Do(func() {
			if s.state != nil {
				atomic.StoreUint32(s.state, 2) // CHORUS_SUB_CLOSED: no call begins after this
			}
			close(s.done)
			s.cancel()
		})
		// From inside a callback (this subscription's or another's) close does not wait:
		// two callbacks closing each other's subscriptions waited for each other for good
		// (review 10, review10_subscriptions_dropped_inside_each_others_callbacks).
		if s.callback && uint64(C.chorus_thread_self()) != atomic.LoadUint64(s.thread) && C.chorus_in_callback() == 0 {
			<-s.dispatched
		}
		return nil
	})
}
