package main

/*
#include <stdlib.h>
#include <pthread.h>
#include "chorus.h"

static inline void chorus_invoke(chorus_event_cb cb, void *ud, const char *json, size_t len) {
	cb(ud, json, len);
}
static inline uint64_t chorus_thread_self(void) { return (uint64_t)pthread_self(); }
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/chorus-im/chorus/protocol"
)

// subscription is one event stream of a client: read with chorus_next_event, or pushed
// to a C callback by a dispatcher goroutine locked to its own OS thread.
type subscription struct {
	ch     <-chan protocol.Event
	cancel context.CancelFunc

	done      chan struct{} // closed by close
	closeOnce sync.Once

	callback   bool
	thread     C.uint64_t    // the dispatcher's pthread (callback subscriptions)
	dispatched chan struct{} // closed when the dispatcher has returned
}

func subscribe(cl *client) *subscription {
	ctx, cancel := context.WithCancel(cl.ctx)
	return &subscription{ch: cl.c.Subscribe(ctx), cancel: cancel, done: make(chan struct{})}
}

func encodeEvent(ev protocol.Event) []byte {
	b, err := json.Marshal(eventToJSON(ev))
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
		s.dispatched = make(chan struct{})
		started := make(chan struct{})
		go s.dispatch(cb, userData, started)
		<-started
		*out = C.chorus_subscription(newHandle(s))
		return nil
	})
}

// dispatch calls cb for each event until the stream ends or the subscription closes.
func (s *subscription) dispatch(cb C.chorus_event_cb, userData unsafe.Pointer, started chan struct{}) {
	defer close(s.dispatched)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.thread = C.chorus_thread_self()
	close(started)
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
			// The bytes are Go memory without Go pointers, borrowed by C for the call.
			C.chorus_invoke(cb, userData, (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)-1))
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
			close(s.done)
			s.cancel()
		})
		if s.callback && C.chorus_thread_self() != s.thread {
			<-s.dispatched
		}
		return nil
	})
}
