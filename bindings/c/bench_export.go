//go:build chorus_bench

package main

/*
#include "chorus.h"

typedef const char chorus_cchar;
*/
import "C"

import (
	"context"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// Benchmark-only exports (build tag chorus_bench; make bindings-bench): the same calls the
// Rust benchmark makes through the ABI, made directly in Go inside the same process, so
// that both sides of the comparison run under the same load and on the same clients. The
// loops run on a goroutine of their own (inGo), like a Go application's code, not on the
// calling C thread.

// inGo runs fn on a new goroutine and returns its result.
func inGo(fn func() C.int64_t) C.int64_t {
	r := make(chan C.int64_t, 1)
	go func() { r <- fn() }()
	return <-r
}

// chorus_bench_go_send sends n text messages with protocol.Client.Send and returns the
// elapsed nanoseconds (negative on error).
//
//export chorus_bench_go_send
func chorus_bench_go_send(h C.chorus_client, gid *C.chorus_cchar, n C.int) C.int64_t {
	cl, err := getClient(h)
	if err != nil {
		return -1
	}
	id, err := groupID(gid)
	if err != nil {
		return -1
	}
	return inGo(func() C.int64_t {
		t0 := time.Now()
		for i := 0; i < int(n); i++ {
			if _, err := cl.c.Send(cl.ctx, id, protocol.Text("benchmark message")); err != nil {
				return -1
			}
		}
		return C.int64_t(time.Since(t0))
	})
}

// chorus_bench_go_send_receive sends n messages from sender and waits for each
// MessageReceived event at receiver (a fresh subscription), in Go; elapsed nanoseconds.
//
//export chorus_bench_go_send_receive
func chorus_bench_go_send_receive(sender C.chorus_client, gid *C.chorus_cchar, receiver C.chorus_client, n C.int) C.int64_t {
	s, err := getClient(sender)
	if err != nil {
		return -1
	}
	r, err := getClient(receiver)
	if err != nil {
		return -1
	}
	id, err := groupID(gid)
	if err != nil {
		return -1
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	events := r.c.Subscribe(ctx)
	return inGo(func() C.int64_t {
		t0 := time.Now()
		for i := 0; i < int(n); i++ {
			if _, err := s.c.Send(s.ctx, id, protocol.Text("benchmark message")); err != nil {
				return -1
			}
			for ev := range events {
				if _, ok := ev.(*protocol.MessageReceived); ok {
					break
				}
			}
		}
		return C.int64_t(time.Since(t0))
	})
}
